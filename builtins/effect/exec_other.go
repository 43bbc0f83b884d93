//go:build !linux

package effect

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
)

// ExecUnsupported says why this build runs no command: Aegis runs commands
// only where it can confine them and kill what they leave behind. Exec
// returns it before starting anything, no sandbox is detected, and doctor
// and every run of a policy that allows commands say so.
var ExecUnsupported = fmt.Errorf("subprocess.exec is not supported on %s: Aegis runs commands only on Linux, "+
	"where it confines them (bubblewrap or Landlock) and kills every process they start when they end; "+
	"run Aegis on Linux (a VM or a container) to use commands", runtime.GOOS)

// The Linux jail and process-group code has no counterpart here; Exec
// refuses before any of it would be reached.

func probeLandlock() (nsLevel, error) {
	return nsNone, fmt.Errorf("Landlock is Linux-only: %w", ExecUnsupported)
}

func landlockCommand(*Sandbox, JailSpec, string, string, []string) (string, []string, *syscall.SysProcAttr, error) {
	return "", nil, nil, ExecUnsupported
}

func seccompFile(JailSpec) (*os.File, error) { return nil, ExecUnsupported }

func closeInheritedOnExec() error { return ExecUnsupported }

func ownProcessGroup(*exec.Cmd, *syscall.SysProcAttr) {}

func killGroupAfterExit(*exec.Cmd) {}
