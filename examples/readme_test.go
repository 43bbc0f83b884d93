package examples

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadmeTryIt runs the README's "Try it" block exactly as written, the
// way a newcomer pastes it: in a shell at the repository root, with a fresh
// GOPATH (so the install lands where the block's PATH line looks, and no
// earlier aegis on PATH can stand in for it). The tour ends on a policy
// denial by design: exit 2, a redacted key and the rule that decided.
func TestReadmeTryIt(t *testing.T) {
	root := repoRoot(t)
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	block := firstShellBlock(t, string(readme), "## Try it")
	goenv, err := exec.Command("go", "env", "GOMODCACHE", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	caches := strings.Fields(string(goenv))
	gopath := t.TempDir()
	cmd := exec.Command("bash", "-ec", block)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"GOPATH="+gopath,
		"GOMODCACHE="+caches[0], // the machine's caches: nothing to download
		"GOCACHE="+caches[1],    // or rebuild
		"GOBIN=",                // the block relies on the default, $(go env GOPATH)/bin
		"PATH="+filepath.Dir(goBinary(t))+":/usr/bin:/bin",
		"HOME="+t.TempDir(),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 2 {
		t.Fatalf("the README block: %v (want exit 2, the tour's final denial)\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if _, err := os.Stat(filepath.Join(gopath, "bin", "aegis")); err != nil {
		t.Errorf("the block did not install aegis where its PATH line looks: %v", err)
	}
	if !strings.Contains(stdout.String(), "[REDACTED]") || !strings.Contains(stderr.String(), "policy denied") {
		t.Errorf("the tour did not show a redaction and a denial:\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	}
}

// firstShellBlock returns the first ```sh block after the heading.
func firstShellBlock(t *testing.T, doc, heading string) string {
	t.Helper()
	i := strings.Index(doc, heading)
	if i < 0 {
		t.Fatalf("README has no %q section", heading)
	}
	rest := doc[i:]
	start := strings.Index(rest, "```sh\n")
	if start < 0 {
		t.Fatalf("no ```sh block after %q", heading)
	}
	rest = rest[start+len("```sh\n"):]
	end := strings.Index(rest, "```")
	if end < 0 {
		t.Fatal("unterminated ```sh block")
	}
	return rest[:end]
}

// goBinary is the go command running the tests.
func goBinary(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatal(err)
	}
	return p
}
