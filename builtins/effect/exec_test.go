package effect

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestExecStdoutEnvAndDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("AEGIS_TEST_PARENT_ONLY", "leak")
	res, err := Exec(context.Background(), Command{
		Argv: []string{"sh", "-c", `printf '%s|%s|%s|' "$KEEP" "$AEGIS_TEST_PARENT_ONLY" "$(pwd)"; env | wc -l`},
		Env:  []string{"KEEP=yes"},
		Dir:  dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	real, _ := filepath.EvalSymlinks(dir)
	got := string(res.Stdout)
	// sh itself adds PWD, SHLVL and _; the parent's variables never arrive.
	if !strings.HasPrefix(got, "yes||"+real+"|") {
		t.Fatalf("stdout %q", got)
	}
	if strings.Contains(got, "leak") {
		t.Fatal("the parent environment reached the child")
	}
}

func TestExecNilEnvInheritsNothing(t *testing.T) {
	t.Setenv("AEGIS_TEST_PARENT_ONLY", "leak")
	res, err := Exec(context.Background(), Command{Argv: []string{"sh", "-c", `echo "[$AEGIS_TEST_PARENT_ONLY]"`}})
	if err != nil {
		t.Fatal(err)
	}
	if string(res.Stdout) != "[]\n" {
		t.Fatalf("stdout %q", res.Stdout)
	}
}

func TestExecNonZeroExit(t *testing.T) {
	_, err := Exec(context.Background(), Command{Argv: []string{"sh", "-c", "echo out; echo bad thing >&2; exit 3"}})
	var ee *ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("got %v", err)
	}
	if ee.Code != 3 || strings.TrimSpace(string(ee.Stderr)) != "bad thing" || strings.TrimSpace(string(ee.Stdout)) != "out" {
		t.Fatalf("exit error %+v", ee)
	}
	if !strings.Contains(err.Error(), "status 3: bad thing") {
		t.Fatalf("message %q", err)
	}
}

func TestExecTimeoutKillsTheGroup(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "survived")
	// The grandchild would create the marker if it outlived the kill.
	_, err := Exec(context.Background(), Command{
		Argv:    []string{"sh", "-c", "(sleep 1; touch " + marker + ") & sleep 30"},
		Timeout: 100 * time.Millisecond,
	})
	var te *TimeoutError
	if !errors.As(err, &te) {
		t.Fatalf("got %v", err)
	}
	time.Sleep(1500 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("a grandchild outlived the timeout")
	}
}

func TestExecOutputCap(t *testing.T) {
	for _, stream := range []string{"stdout", "stderr"} {
		redirect := ""
		if stream == "stderr" {
			redirect = " >&2"
		}
		_, err := Exec(context.Background(), Command{
			Argv:      []string{"sh", "-c", "yes" + redirect},
			MaxOutput: 4096,
		})
		var tl *TooLargeError
		if !errors.As(err, &tl) || tl.What != stream || tl.Limit != 4096 {
			t.Fatalf("%s: got %v", stream, err)
		}
	}
	res, err := Exec(context.Background(), Command{Argv: []string{"printf", "12345"}, MaxOutput: 5})
	if err != nil || string(res.Stdout) != "12345" {
		t.Fatalf("at the cap: %v %q", err, res)
	}
}

func TestExecRefusals(t *testing.T) {
	for _, argv := range [][]string{nil, {""}, {"echo", "a\x00b"}, {"aegis-no-such-command-xyz"}} {
		if _, err := Exec(context.Background(), Command{Argv: argv}); err == nil {
			t.Errorf("%q ran", argv)
		}
	}
}

func TestExecCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := Exec(ctx, Command{Argv: []string{"sleep", "30"}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestEnvFrom(t *testing.T) {
	env := map[string]string{"A": "1", "B": "", "C": "3"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	got := EnvFrom([]string{"A", "MISSING", "B", "A", "X=Y", "", "C"}, lookup)
	want := []string{"A=1", "B=", "C=3"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestBwrapPrefix(t *testing.T) {
	argv := BwrapPrefix("/usr/bin/bwrap", BwrapSpec{
		ReadOnly:  []string{"/proj/src", "/proj", "relative", "/data/x"},
		ReadWrite: []string{"/proj/out", "/data"},
		Dir:       "/proj",
	})
	s := strings.Join(argv, " ")
	for _, want := range []string{"--unshare-net", "--ro-bind-try /proj /proj", "--bind-try /proj/out /proj/out",
		"--bind-try /data /data", "--chdir /proj", "--die-with-parent"} {
		if !strings.Contains(s, want) {
			t.Errorf("missing %q in %s", want, s)
		}
	}
	for _, bad := range []string{"/proj/src /proj/src", "relative", "--ro-bind-try /data/x"} {
		if strings.Contains(s, bad) {
			t.Errorf("unexpected %q in %s", bad, s)
		}
	}
	if argv[len(argv)-1] != "--" {
		t.Error("prefix does not end with --")
	}
	if net := BwrapPrefix("bwrap", BwrapSpec{ShareNet: true}); slices.Contains(net, "--unshare-net") {
		t.Error("network unshared although a host is allowed")
	}
}

func TestExecPathKeepsArgv0(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Exec(context.Background(), Command{Path: sh, Argv: []string{"not-a-real-name", "-c", `echo "$0"`}})
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(res.Stdout)) != "not-a-real-name" {
		t.Fatalf("argv[0] seen as %q", res.Stdout)
	}
}

func TestBwrapPrefixHides(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "token")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	argv := strings.Join(BwrapPrefix("bwrap", BwrapSpec{ReadOnly: []string{dir}, Hide: []string{dir, file, filepath.Join(dir, "missing")}}), " ")
	// The directory covers the file: one tmpfs hides both.
	if !strings.Contains(argv, "--tmpfs "+dir) || strings.Contains(argv, "/dev/null "+file) || strings.Contains(argv, "missing") {
		t.Fatalf("hide: %s", argv)
	}
	argv = strings.Join(BwrapPrefix("bwrap", BwrapSpec{ReadOnly: []string{dir}, Hide: []string{file}}), " ")
	if !strings.Contains(argv, "--ro-bind /dev/null "+file) {
		t.Fatalf("hide a file: %s", argv)
	}
	if strings.Index(argv, "--ro-bind /dev/null") < strings.Index(argv, "--ro-bind-try "+dir) {
		t.Fatal("hiding must come after the binds it overrides")
	}
}
