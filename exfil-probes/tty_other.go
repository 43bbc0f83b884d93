//go:build !linux

package exfilprobes

import (
	"errors"
	"os"
	"os/exec"
)

// openPTY is only implemented on Linux, the one platform the suite supports (it needs 127.0.0.2).
func openPTY() (master, slave *os.File, err error) {
	return nil, nil, errors.New("pseudo-terminals are only supported on Linux")
}

func setControllingTTY(cmd *exec.Cmd, slave *os.File) {}
