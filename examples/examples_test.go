// Package examples holds no code: it is the bundled example tree (policies,
// good and bad scripts, and their fixture files), and this test keeps every
// example honest.
//
// Each script under examples/*/ declares, in its opening comment block, how
// to run it and what should happen:
//
//	# expect: exit 2 (policy denied)
//	#   go run ./cmd/aegis run --policy examples/policies/bad-scripts.toml examples/scripts/credential-read.star
//
// The test builds cmd/aegis, copies the example tree to a temporary
// directory (so runs never write into the repository), points HOME at a
// temporary home holding decoy credentials, runs each script exactly as its
// header says, and checks the exit code, that no example secret (nor a
// simple encoding of one) appears in the output, the audit log or any file
// outside the local-only places, and that every policy validates.
package examples

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// header is what a script's opening comment promises.
type header struct {
	exit   int
	policy string // relative to the repository root; "" runs without --policy
	script string // the script path named by the run line
}

var (
	expectLine = regexp.MustCompile(`^#\s*expect:\s*exit\s+(\d+)\b`)
	runLine    = regexp.MustCompile(`aegis run\s+(?:(?:--policy|-p)\s+(\S+)\s+)?(\S+\.star)\s*$`)
)

// parseHeader reads the leading comment block (comment and blank lines
// before the first line of code).
func parseHeader(src string) (header, error) {
	h := header{exit: -1}
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !strings.HasPrefix(line, "#") {
			break
		}
		if m := expectLine.FindStringSubmatch(line); m != nil {
			if h.exit >= 0 {
				return h, errors.New("two '# expect: exit N' lines")
			}
			n, err := strconv.Atoi(m[1])
			if err != nil || n > 255 {
				return h, fmt.Errorf("bad exit code in %q", line)
			}
			h.exit = n
		}
		if m := runLine.FindStringSubmatch(line); m != nil {
			h.policy, h.script = m[1], m[2]
		}
	}
	if h.exit < 0 {
		return h, errors.New("no '# expect: exit N' line in the opening comment")
	}
	if h.script == "" {
		return h, errors.New("no 'aegis run [--policy P] S.star' line in the opening comment")
	}
	return h, nil
}

func TestParseHeader(t *testing.T) {
	good := "# Does a thing.\n# expect: exit 7 (flow denied)\n#\n#   go run ./cmd/aegis run --policy examples/p.toml examples/s/x.star\nprint(1)\n# expect: exit 3\n"
	h, err := parseHeader(good)
	if err != nil || h.exit != 7 || h.policy != "examples/p.toml" || h.script != "examples/s/x.star" {
		t.Fatalf("parseHeader(good) = %+v, %v", h, err)
	}
	h, err = parseHeader("# expect: exit 0\n#   aegis run - < examples/s/x.star\n")
	if err == nil {
		t.Errorf("a header without a run line was accepted: %+v", h)
	}
	for _, bad := range []string{
		"# A script.\n#   aegis run --policy p.toml x.star\nprint(1)\n",
		"print(1)\n# expect: exit 0\n#   aegis run x.star\n",
		"# expect: exit 0\n# expect: exit 2\n#   aegis run x.star\n",
	} {
		if h, err := parseHeader(bad); err == nil {
			t.Errorf("parseHeader(%q) = %+v, want an error", bad, h)
		}
	}
}

// repoRoot is the directory holding go.mod, one level above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found: %v", err)
	}
	return root
}

func buildAegis(t *testing.T, root string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "aegis")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/aegis")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/aegis: %v\n%s", err, out)
	}
	return bin
}

// copyExamples copies root/examples to dst/examples, leaving out what runs
// produce (audit logs) and this package's Go files.
func copyExamples(t *testing.T, root, dst string) {
	t.Helper()
	src := filepath.Join(root, "examples")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir() && d.Name() == ".aegis":
			return filepath.SkipDir
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case strings.HasSuffix(p, ".go"):
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: unexpected file type %v in the example tree", rel, d.Type())
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatalf("copying examples: %v", err)
	}
}

// localOnlyPlace reports whether a path (relative to the work copy) lies in
// a place the examples keep local-only data: the secrets themselves
// (private/) and the local-only zones (zone/, private/cache/).
func localOnlyPlace(rel string) bool {
	for _, part := range strings.Split(filepath.ToSlash(rel), "/") {
		if part == "private" || part == "zone" {
			return true
		}
	}
	return false
}

// exampleSecrets collects the fixture secrets (every file under a private/
// directory of the example tree) and the decoys the test plants itself.
func exampleSecrets(t *testing.T, work string, planted ...string) []string {
	t.Helper()
	var secrets []string
	err := filepath.WalkDir(filepath.Join(work, "examples"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.Contains(filepath.ToSlash(p), "/private/") {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if s := strings.TrimSpace(string(data)); len(s) >= 8 {
			secrets = append(secrets, s)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets) < 2 {
		t.Fatalf("found %d fixture secrets under examples/**/private/, want at least 2", len(secrets))
	}
	return append(secrets, planted...)
}

// forms are spellings of a secret a careless or hostile script might emit.
func forms(secret string) map[string]string {
	rev := []rune(secret)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	return map[string]string{
		"raw":         secret,
		"hex":         hex.EncodeToString([]byte(secret)),
		"reversed":    string(rev),
		"reversedhex": hex.EncodeToString([]byte(string(rev))),
		"base64":      base64.StdEncoding.EncodeToString([]byte(secret)),
	}
}

func leaks(data []byte, secrets []string) []string {
	var found []string
	for i, s := range secrets {
		for name, f := range forms(s) {
			if bytes.Contains(data, []byte(f)) {
				found = append(found, fmt.Sprintf("secret #%d (%s)", i, name))
			}
		}
	}
	sort.Strings(found)
	return found
}

// snapshot lists the regular files of a tree, relative to it.
func snapshot(t *testing.T, dir string) map[string]bool {
	t.Helper()
	files := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files[rel] = true
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

const (
	decoyAWS = "aws_secret_access_key = EXAMPLEdecoyAWSsecret0123456789abcdef"
	decoyNPM = "npm_EXAMPLEdecoyTOKEN0123456789abcdef"
)

// testEnv is a minimal environment: a temporary HOME with decoy
// credentials, PATH to find git, and a decoy NPM_TOKEN for the policies
// that treat it as local-only.
func testEnv(t *testing.T) ([]string, string) {
	t.Helper()
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "credentials"), []byte("[default]\n"+decoyAWS+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "LANG=C", "NPM_TOKEN=" + decoyNPM}, home
}

// wantInError is what the error line says for the exit codes that end a
// run on purpose.
var wantInError = map[int]string{2: "policy denied", 3: "verifier", 7: "flow denied"}

func TestExampleScripts(t *testing.T) {
	root := repoRoot(t)
	bin := buildAegis(t, root)
	env, _ := testEnv(t)

	var scripts []string
	for _, pat := range []string{"*/*.star", "*/*/*.star"} {
		m, err := filepath.Glob(filepath.Join(root, "examples", pat))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range m {
			// The agent-task corpus needs its servers and secrets:
			// TestAgentTasks (tasks_test.go) runs it.
			if !strings.HasPrefix(filepath.ToSlash(s), filepath.ToSlash(filepath.Join(root, "examples", "tasks"))+"/") {
				scripts = append(scripts, s)
			}
		}
	}
	// The README's tour and the bundled hello example must be covered; the
	// bad scripts too. A glob that silently found nothing would pass.
	if len(scripts) < 7 {
		t.Fatalf("found %d example scripts, want at least 7: %v", len(scripts), scripts)
	}
	sort.Strings(scripts)

	for _, abs := range scripts {
		rel, err := filepath.Rel(root, abs)
		if err != nil {
			t.Fatal(err)
		}
		rel = filepath.ToSlash(rel)
		t.Run(strings.TrimPrefix(rel, "examples/"), func(t *testing.T) {
			src, err := os.ReadFile(abs)
			if err != nil {
				t.Fatal(err)
			}
			h, err := parseHeader(string(src))
			if err != nil {
				t.Fatalf("%s: %v", rel, err)
			}
			if h.script != rel {
				t.Fatalf("%s: its run line names %s", rel, h.script)
			}

			work := t.TempDir()
			copyExamples(t, root, work)
			secrets := exampleSecrets(t, work, decoyAWS, decoyNPM)
			before := snapshot(t, work)

			args := []string{"run"}
			if h.policy != "" {
				args = append(args, "--policy", h.policy)
			}
			args = append(args, h.script)
			cmd := exec.Command(bin, args...)
			cmd.Dir = work
			cmd.Env = env
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err = cmd.Run()
			code := 0
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatalf("running aegis: %v", err)
			}
			t.Logf("aegis %s → exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, stdout.String(), stderr.String())

			if code != h.exit {
				t.Errorf("exit %d, the header expects %d", code, h.exit)
			}
			if want, ok := wantInError[h.exit]; ok && !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr does not say %q", want)
			}
			if l := leaks(stdout.Bytes(), secrets); len(l) > 0 {
				t.Errorf("stdout contains %v", l)
			}
			if l := leaks(stderr.Bytes(), secrets); len(l) > 0 {
				t.Errorf("stderr contains %v", l)
			}

			// Files: a run may add files only to the audit log and the
			// local-only places, and no file outside those places may hold
			// a secret (the audit log included: it never records a
			// labelled value).
			for f := range snapshot(t, work) {
				local := localOnlyPlace(f)
				if !before[f] && !local && !strings.Contains(filepath.ToSlash(f), ".aegis/") {
					t.Errorf("the run wrote %s, outside the audit log and the local-only places", f)
				}
				if local {
					continue
				}
				data, err := os.ReadFile(filepath.Join(work, f))
				if err != nil {
					t.Fatal(err)
				}
				if l := leaks(data, secrets); len(l) > 0 {
					t.Errorf("%s contains %v", f, l)
				}
			}
		})
	}
}

func TestExamplePoliciesValidate(t *testing.T) {
	root := repoRoot(t)
	bin := buildAegis(t, root)
	env, _ := testEnv(t)
	work := t.TempDir()
	copyExamples(t, root, work)

	policies, err := filepath.Glob(filepath.Join(work, "examples", "*", "*.toml"))
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range policies {
		names[filepath.Base(p)] = true
	}
	for _, want := range []string{"python-service.toml", "node-project.toml", "go-project.toml", "bad-scripts.toml"} {
		if !names[want] {
			t.Errorf("examples/policies/%s is missing", want)
		}
	}
	for _, p := range policies {
		rel, err := filepath.Rel(work, p)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.ToSlash(rel), func(t *testing.T) {
			cmd := exec.Command(bin, "policy", "validate", rel)
			cmd.Dir = work
			cmd.Env = env
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "is valid") {
				t.Errorf("aegis policy validate %s: %v\n%s", rel, err, out)
			}
		})
	}
}

// The project policies promise, in their comments, a local-only secret and
// refused history rewrites; ask the policy engine, through the CLI, whether
// that is what they do.
func TestProjectPolicyPromises(t *testing.T) {
	root := repoRoot(t)
	bin := buildAegis(t, root)
	env, _ := testEnv(t)
	work := t.TempDir()
	copyExamples(t, root, work)

	explain := func(policy string, args ...string) (int, string) {
		cmd := exec.Command(bin, append([]string{"policy", "explain", "--policy", "examples/policies/" + policy}, args...)...)
		cmd.Dir = work
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), string(out)
		} else if err != nil {
			t.Fatalf("policy explain: %v", err)
		}
		return 0, string(out)
	}
	for _, policy := range []string{"node-project.toml", "go-project.toml", "python-service.toml", "bad-scripts.toml"} {
		for _, argv := range [][]string{
			{"git", "push", "--force", "origin", "main"},
			{"git", "push", "origin", "+main"},
			{"git", "push", "-f"},
			{"git", "reset", "--hard", "HEAD~3"},
		} {
			if code, out := explain(policy, append([]string{"subprocess.exec"}, argv...)...); code != 2 {
				t.Errorf("%s allows %v (exit %d):\n%s", policy, argv, code, out)
			}
		}
		if code, out := explain(policy, "subprocess.exec", "git", "status"); code != 0 {
			t.Errorf("%s denies git status (exit %d):\n%s", policy, code, out)
		}
	}
	if code, out := explain("node-project.toml", "env.read", "NPM_TOKEN"); code != 0 || !strings.Contains(strings.ToLower(out), "local-only") {
		t.Errorf("node-project: NPM_TOKEN is not readable as local-only (exit %d):\n%s", code, out)
	}
	if code, out := explain("go-project.toml", "fs.read", "private/goproxy.token"); code != 0 || !strings.Contains(strings.ToLower(out), "local-only") {
		t.Errorf("go-project: the proxy token is not readable as local-only (exit %d):\n%s", code, out)
	}
}
