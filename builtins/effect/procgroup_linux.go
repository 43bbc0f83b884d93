package effect

import (
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ExecUnsupported is nil: Linux is where Aegis runs commands
// (exec_other.go says why elsewhere).
var ExecUnsupported error

// ownProcessGroup starts the command in a new session, and so a new
// process group (with attr's namespaces, if any), sends it SIGKILL if this
// process dies, and makes cancellation kill the whole group, so that a
// command cannot outlive its deadline through a child it spawned. The new
// session has no controlling terminal: a command cannot open the user's
// terminal (/dev/tty) to read it, or push input into it with TIOCSTI for the
// user's shell to run after aegis exits.
func ownProcessGroup(cmd *exec.Cmd, attr *syscall.SysProcAttr) {
	if attr == nil {
		attr = &syscall.SysProcAttr{}
	}
	attr.Setsid = true // also leads a new process group
	attr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr = attr
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// killGroupAfterExit waits until the started command exits, without reaping
// it, then kills its process group: a background child (`sleep 123 &` in a
// make recipe) dies with the command. The leader stays a zombie until
// cmd.Wait reaps it, so the group id cannot name another group meanwhile.
func killGroupAfterExit(cmd *exec.Cmd) {
	pid := cmd.Process.Pid
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

// closeInheritedOnExec marks every descriptor from 3 up close-on-exec, so
// that a command gets only its standard streams and the files Exec passes
// on purpose (ExtraFiles, which the child re-opens without the flag). Go
// opens its own files close-on-exec, but not those this process inherited
// without it (an agent host's pipe, a file a launcher left open): without
// this, every command, jailed or not, would get them.
func closeInheritedOnExec() error {
	if err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err == nil {
		return nil
	}
	// Before Linux 5.11: each open descriptor in turn.
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return fmt.Errorf("list open descriptors: %w", err)
	}
	for _, e := range ents {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd < 3 {
			continue
		}
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETFD, unix.FD_CLOEXEC); err != nil && !errors.Is(err, unix.EBADF) {
			return fmt.Errorf("descriptor %d: %w", fd, err)
		}
	}
	return nil
}
