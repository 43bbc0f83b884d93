//go:build unix

package effect

import (
	"os/exec"
	"syscall"
)

// ownProcessGroup puts the command in a new process group and makes
// cancellation kill the whole group, so a command cannot outlive its
// deadline through a child it spawned.
func ownProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
