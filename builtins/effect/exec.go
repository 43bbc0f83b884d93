package effect

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Command is one subprocess the policy has allowed.
type Command struct {
	// Argv is the command line. Unless Path is set, Argv[0] is looked up in
	// this process's PATH when it holds no slash (the same binary the
	// policy's user would get from a shell), otherwise resolved against Dir.
	Argv []string
	// Path, when set, is the file to execute (the program the policy
	// vetted); the program still receives Argv[0] as its name.
	Path string
	// Jail, when set, confines the command (jail.go); nil runs it with
	// this process's view of the machine.
	Jail *Jail
	Env  []string // the complete environment: nothing is inherited
	Dir  string   // working directory (the policy root)

	Timeout   time.Duration // 0 = no deadline of its own
	MaxOutput int64         // cap on stdout and on stderr, each; 0 = unlimited
}

// ExecResult is a finished command that exited 0.
type ExecResult struct {
	Stdout []byte
	Stderr []byte
}

// ExitError reports a command that ran and exited non-zero (or was killed by
// a signal, Code -1). Stderr is the command's output: callers label it.
type ExitError struct {
	Command string // argv[0]
	Code    int
	Stdout  []byte
	Stderr  []byte
}

func (e *ExitError) Error() string {
	msg := fmt.Sprintf("%s exited with status %d", e.Command, e.Code)
	if s := strings.TrimSpace(string(e.Stderr)); s != "" {
		msg += ": " + s
	}
	return msg
}

// Exec runs c to completion. A non-zero exit is an *ExitError, output past
// MaxOutput a *TooLargeError, the deadline a *TimeoutError. The command runs
// in a process group of its own (in a jail, a pid namespace of its own),
// which is killed whole when the command exits, on the deadline and on
// cancel: nothing it started outlives it. Outside Linux it returns
// ExecUnsupported and starts nothing.
func Exec(ctx context.Context, c Command) (*ExecResult, error) {
	if ExecUnsupported != nil {
		return nil, ExecUnsupported
	}
	if len(c.Argv) == 0 || c.Argv[0] == "" {
		return nil, errors.New("empty argv: the first element must name a command")
	}
	for i, a := range c.Argv {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, fmt.Errorf("argv[%d] contains a NUL byte", i)
		}
	}
	argv := c.Argv
	if c.Path != "" {
		argv = append([]string{c.Path}, argv[1:]...)
	} else if !strings.Contains(argv[0], "/") {
		path, err := exec.LookPath(argv[0])
		if err != nil {
			return nil, fmt.Errorf("command %q not found in PATH: %w", argv[0], err)
		}
		argv = append([]string{path}, argv[1:]...)
	}
	name := c.Argv[0] // the program sees the name it was asked for
	env := c.Env
	if env == nil {
		env = []string{} // nil would inherit this process's environment
	}
	var attr *syscall.SysProcAttr
	var extra []*os.File
	if j := c.Jail; j != nil && j.Sandbox != nil {
		switch j.Sandbox.Kind {
		case "bwrap":
			filter, err := seccompFile(j.Spec)
			if err != nil {
				return nil, fmt.Errorf("jail for %s: %w", c.Argv[0], err)
			}
			if filter != nil {
				defer filter.Close()
				extra = []*os.File{filter} // seccompFD
			}
			argv = append(bwrapArgs(j.Sandbox.bwrap, j.Spec, os.Geteuid()), argv...)
			name = argv[0]
		case "landlock":
			tmp, err := os.MkdirTemp("", "aegis-jail-")
			if err != nil {
				return nil, fmt.Errorf("private temporary directory for %s: %w", c.Argv[0], err)
			}
			defer os.RemoveAll(tmp)
			env = withEnv(env, "TMPDIR", tmp)
			path, args, a, err := landlockCommand(j.Sandbox, j.Spec, tmp, argv[0], append([]string{name}, argv[1:]...))
			if err != nil {
				return nil, err
			}
			argv, name, attr = append([]string{path}, args[1:]...), args[0], a
		default:
			return nil, fmt.Errorf("unknown sandbox %q", j.Sandbox.Kind)
		}
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if c.Timeout > 0 {
		var cancelT context.CancelFunc
		runCtx, cancelT = context.WithTimeout(runCtx, c.Timeout)
		defer cancelT()
	}
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	cmd.Args[0] = name
	cmd.Env = env
	cmd.Dir = c.Dir
	cmd.Stdin = nil
	cmd.ExtraFiles = extra
	stdout := &capWriter{what: "stdout", limit: c.MaxOutput, onFull: cancel}
	stderr := &capWriter{what: "stderr", limit: c.MaxOutput, onFull: cancel}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	ownProcessGroup(cmd, attr)
	// Grandchildren that keep the pipes open must not hold the run forever.
	cmd.WaitDelay = 2 * time.Second

	if err := closeInheritedOnExec(); err != nil {
		return nil, fmt.Errorf("run %s: %w", c.Argv[0], err)
	}
	err := cmd.Start()
	if err == nil {
		// The group dies as soon as its leader exits, before the leader
		// is reaped (its pid, the group's id, cannot be reused meanwhile).
		killGroupAfterExit(cmd)
		err = cmd.Wait()
	}
	if full := stdout.overflow(); full != nil {
		return nil, full
	}
	if full := stderr.overflow(); full != nil {
		return nil, full
	}
	if c.Timeout > 0 && errors.Is(runCtx.Err(), context.DeadlineExceeded) && ctx.Err() == nil {
		return nil, &TimeoutError{What: "command " + c.Argv[0], After: c.Timeout}
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("command %s stopped: %w", c.Argv[0], ctx.Err())
	}
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return nil, &ExitError{Command: c.Argv[0], Code: ee.ExitCode(), Stdout: stdout.buf.Bytes(), Stderr: stderr.buf.Bytes()}
		}
		return nil, fmt.Errorf("run %s: %w", c.Argv[0], err)
	}
	return &ExecResult{Stdout: stdout.buf.Bytes(), Stderr: stderr.buf.Bytes()}, nil
}

// capWriter buffers up to limit bytes and cancels the command past it.
type capWriter struct {
	what   string
	limit  int64
	onFull func()

	mu   sync.Mutex
	buf  bytes.Buffer
	full bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.full {
		return 0, &TooLargeError{What: w.what, Limit: w.limit}
	}
	if w.limit > 0 && int64(w.buf.Len()+len(p)) > w.limit {
		w.full = true
		w.buf.Reset()
		w.onFull()
		return 0, &TooLargeError{What: w.what, Limit: w.limit}
	}
	return w.buf.Write(p)
}

func (w *capWriter) overflow() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.full {
		return &TooLargeError{What: w.what, Limit: w.limit}
	}
	return nil
}

// withEnv returns env with name set to value (replacing any earlier value).
func withEnv(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return append(out, name+"="+value)
}
