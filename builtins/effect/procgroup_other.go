//go:build !unix

package effect

import "os/exec"

// ownProcessGroup: without process groups only the direct child is killed.
func ownProcessGroup(*exec.Cmd) {}
