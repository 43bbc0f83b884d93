//go:build linux && !amd64 && !arm64

package effect

// No filter is written for this architecture: a jail that needs one
// refuses to run the command (seccompFilter).
const (
	seccompArch = 0
	seccompX32  = false
)

var setattrSyscalls []int
