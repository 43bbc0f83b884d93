package effect

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
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
