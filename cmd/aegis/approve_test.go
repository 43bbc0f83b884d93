//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests run `aegis run` as a process whose controlling terminal is a
// pseudo-terminal the test holds the other end of: the approval prompt is
// read and answered as a person at a terminal would.

// openPTY returns the two ends of a new pseudo-terminal.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// ttyRun is an `aegis run` process on a terminal.
type ttyRun struct {
	t      *testing.T
	cmd    *exec.Cmd
	master *os.File
	slave  *os.File
	mu     sync.Mutex
	screen bytes.Buffer // everything written to the terminal
	stdout bytes.Buffer
	stderr bytes.Buffer
	done   chan struct{}
}

func startTTYRun(t *testing.T, dir string, args ...string) *ttyRun {
	t.Helper()
	master, slave := openPTY(t)
	raw, _ := json.Marshal(append([]string{"run"}, args...))
	r := &ttyRun{t: t, master: master, slave: slave, done: make(chan struct{})}
	r.cmd = exec.Command(os.Args[0], "-test.run=^TestAegisProcess$")
	r.cmd.Dir = dir
	r.cmd.Env = []string{e2eArgsEnv + "=" + string(raw), "PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	r.cmd.Stdin = slave
	r.cmd.Stdout, r.cmd.Stderr = &r.stdout, &r.stderr
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			r.mu.Lock()
			r.screen.Write(buf[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		select {
		case <-r.done:
		default:
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// waitFor waits until the terminal shows want n times.
func (r *ttyRun) waitFor(want string, n int) string {
	r.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		s := r.screen.String()
		r.mu.Unlock()
		if strings.Count(s, want) >= n {
			return s
		}
		select {
		case <-r.done:
			r.t.Fatalf("the run ended before the terminal showed %q %d times:\n%s\nstderr: %s", want, n, s, r.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	r.t.Fatalf("the terminal never showed %q:\n%s", want, r.screen.String())
	return ""
}

func (r *ttyRun) answer(s string) {
	r.t.Helper()
	if _, err := r.master.Write([]byte(s)); err != nil {
		r.t.Fatal(err)
	}
}

// exit waits for the end of the run, failing after guard.
func (r *ttyRun) exit(guard time.Duration) int {
	r.t.Helper()
	select {
	case <-r.done:
		return r.cmd.ProcessState.ExitCode()
	case <-time.After(guard):
		r.t.Fatalf("the run did not end within %s; terminal:\n%s", guard, r.screen.String())
	}
	return -1
}

const promptPolicy = `inherits = "secure-defaults"
requires_approval = ["fs.write"]
[filesystem]
write_allow = ["out/**"]
delete_allow = ["out/**"]
`

// The prompt shows the target as the script wrote it and as it resolves,
// with escape sequences visible, never sent to the terminal.
func TestPromptShowsEscapesInsteadOfSendingThem(t *testing.T) {
	name := "out/a\x1b[2J\x1b]0;pwned\x07\rb.txt"
	dir := project(t, map[string]string{"aegis.toml": promptPolicy, name: "x",
		"task.star": fmt.Sprintf("fs.delete(%q)\nprint('deleted')\n", name)})
	r := startTTYRun(t, dir, "task.star")
	screen := r.waitFor("Allow it?", 1)
	prompt := screen[strings.Index(screen, "aegis: the script asks"):]
	if strings.ContainsAny(prompt, "\x1b\x07") {
		t.Fatalf("raw control characters reached the terminal: %q", prompt)
	}
	for _, want := range []string{`fs.delete    "out/a\x1b[2J\x1b]0;pwned\a\rb.txt"`, `resolves to  "` + dir + `/out/a\x1b[2J`, "[o]nce, for this [s]ession"} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt lacks %q:\n%s", want, prompt)
		}
	}
	r.answer("o\n")
	if code := r.exit(20 * time.Second); code != 0 || r.stdout.String() != "deleted\n" {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, r.stdout.String(), r.stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, name)); !os.IsNotExist(err) {
		t.Errorf("the approved file was not deleted: %v", err)
	}
}

// "session" approves the same call again without asking, and nothing else.
func TestPromptForTheSession(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": promptPolicy, "task.star": `
fs.write("out/a.txt", "1")
fs.write("out/a.txt", "2")
fs.write("out/b.txt", "3")
print("written")
`})
	r := startTTYRun(t, dir, "task.star")
	r.waitFor("Allow it?", 1)
	r.answer("s\n")
	screen := r.waitFor("Allow it?", 2)
	if !strings.Contains(screen[strings.LastIndex(screen, "aegis: the script asks"):], "out/b.txt") {
		t.Fatalf("the second question is not about out/b.txt:\n%s", screen)
	}
	r.answer("n\n")
	code := r.exit(20 * time.Second)
	if code != 4 || !strings.Contains(r.stderr.String(), "declined at the terminal prompt") {
		t.Fatalf("exit %d, stderr %s", code, r.stderr.String())
	}
	if strings.Count(r.screen.String(), "Allow it?") != 2 {
		t.Errorf("asked %d times, want 2 (the repeat of out/a.txt is remembered)", strings.Count(r.screen.String(), "Allow it?"))
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "out/a.txt")); string(b) != "2" {
		t.Errorf("out/a.txt holds %q", b)
	}
}

// Typed before the question was shown, an answer does not count.
func TestTypeAheadDoesNotAnswer(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": promptPolicy, "task.star": `
x = 0
for i in range(3000000):
    x += i
fs.write("out/a.txt", "1")
print("written")
`})
	r := startTTYRun(t, dir, "task.star")
	r.answer("o\n")
	// Wait until aegis has read the line from the terminal, while the
	// script is still counting: the line is then typed-ahead for sure.
	for i := 0; ; i++ {
		n, err := unix.IoctlGetInt(int(r.slave.Fd()), unix.TIOCINQ)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if i > 2000 {
			t.Fatal("aegis never read the terminal")
		}
		time.Sleep(5 * time.Millisecond)
	}
	r.mu.Lock()
	early := strings.Contains(r.screen.String(), "Allow it?")
	r.mu.Unlock()
	if early {
		t.Fatal("the question came before the typed-ahead line was read: the script must run longer for this test")
	}
	r.waitFor("Allow it?", 1)
	r.answer("n\n")
	if code := r.exit(30 * time.Second); code != 4 {
		t.Fatalf("a line typed before the question approved it: exit %d, stdout %q", code, r.stdout.String())
	}
}

// At the prompt, SIGTERM, Ctrl-C and max_seconds end the run (exit 6),
// well before any answer.
func TestPromptDoesNotHoldTheRun(t *testing.T) {
	script := `fs.write("out/a.txt", "1")` + "\n"
	for _, c := range []struct {
		name   string
		policy string
		stop   func(r *ttyRun)
		want   string
	}{
		{"SIGTERM", promptPolicy, func(r *ttyRun) { _ = r.cmd.Process.Signal(syscall.SIGTERM) }, "cancelled"},
		{"Ctrl-C", promptPolicy, func(r *ttyRun) { r.answer("\x03") }, "cancelled"},
		{"max_seconds", promptPolicy + "[runtime]\nmax_seconds = 1\n", func(*ttyRun) {}, "max_seconds"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := project(t, map[string]string{"aegis.toml": c.policy, "task.star": script})
			r := startTTYRun(t, dir, "task.star")
			r.waitFor("Allow it?", 1)
			c.stop(r)
			if code := r.exit(10 * time.Second); code != 6 || !strings.Contains(r.stderr.String(), c.want) {
				t.Fatalf("exit %d, stderr %s", code, r.stderr.String())
			}
			if _, err := os.Stat(filepath.Join(dir, "out/a.txt")); !os.IsNotExist(err) {
				t.Errorf("the unapproved write happened")
			}
		})
	}
}

// Without a terminal, the refusal says which switch and which policy keys
// would allow the call, and never that a user declined.
func TestNoTerminalSaysHowToApprove(t *testing.T) {
	dir := project(t, map[string]string{"aegis.toml": `inherits = "secure-defaults"
[filesystem]
read_allow = ["src/**"]
[subprocess]
allow_commands = ["echo"]
`, "src/x": ""})
	raw, _ := json.Marshal([]string{"run", "-"})
	cmd := exec.Command(os.Args[0], "-test.run=^TestAegisProcess$")
	cmd.Dir = dir
	cmd.Env = []string{e2eArgsEnv + "=" + string(raw), "PATH=" + os.Getenv("PATH"), "HOME=" + dir}
	cmd.Stdin = strings.NewReader(`subprocess.exec(["echo", "hello", "src/x"])`)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // no controlling terminal
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 4 {
		t.Fatalf("want exit 4, got %v; stderr %s", err, stderr.String())
	}
	msg := stderr.String()
	for _, want := range []string{"no terminal to ask on", "--yes", `add "echo hello" to [subprocess].approve_prefixes in ` + dir + "/aegis.toml", `"!subprocess.exec"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("stderr lacks %q:\n%s", want, msg)
		}
	}
	for _, not := range []string{"declined", "denied by the user"} {
		if strings.Contains(msg, not) {
			t.Errorf("stderr says %q although nobody was asked:\n%s", not, msg)
		}
	}
}
