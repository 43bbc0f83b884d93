package effect

import (
	"errors"
	"fmt"
	"os/exec"
	"sync"
)

// Sandbox is a jail mechanism that works on this machine.
type Sandbox struct {
	Kind       string // "bwrap" or "landlock"
	bwrap      string // bwrap's path
	namespaces nsLevel
}

// nsLevel says which namespaces a Landlock jail can have here.
type nsLevel int

const (
	nsNone nsLevel = iota // none: Landlock and the process group only
	nsRoot                // root without user namespaces: pid, ipc, uts, net
	nsUser                // a user namespace too, as nobody
)

// String describes the mechanism for messages.
func (s *Sandbox) String() string {
	switch {
	case s == nil:
		return "none"
	case s.Kind == "bwrap":
		return "bwrap (" + s.bwrap + ")"
	case s.namespaces == nsUser:
		return "landlock (with user, pid and network namespaces)"
	case s.namespaces == nsRoot:
		return "landlock (with pid and network namespaces)"
	}
	return "landlock (no namespaces here: a child that leaves its process group can outlive the run, and a command without the network may open no socket at all)"
}

// UnjailedWarning is the warning printed wherever commands run without a
// jail: by `aegis policy validate` and by every run that executes one.
const UnjailedWarning = "commands run without a sandbox: an allowed program (an interpreter, a build tool, a script it runs) can read local-only and denied files and use the network, and Aegis cannot see what it does with them. Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) or use a kernel with Landlock, and keep [subprocess].sandbox = \"auto\""

var (
	bwrapOnce    sync.Once
	bwrapFound   *Sandbox
	bwrapErr     error
	landlockOnce sync.Once
	landlockSB   *Sandbox
	landlockErr  error
)

func detectBwrap() (*Sandbox, error) {
	bwrapOnce.Do(func() {
		if ExecUnsupported != nil {
			bwrapErr = fmt.Errorf("bubblewrap is Linux-only: %w", ExecUnsupported)
			return
		}
		path, err := exec.LookPath("bwrap")
		if err != nil {
			bwrapErr = errors.New("bwrap (bubblewrap) is not installed: install it (Debian/Ubuntu: apt-get install bubblewrap)")
			return
		}
		if err := bwrapProbe(path); err != nil {
			bwrapErr = fmt.Errorf("bwrap cannot create a sandbox on this system (%v): enable unprivileged user namespaces", err)
			return
		}
		bwrapFound = &Sandbox{Kind: "bwrap", bwrap: path}
	})
	return bwrapFound, bwrapErr
}

func detectLandlock() (*Sandbox, error) {
	landlockOnce.Do(func() {
		level, err := probeLandlock()
		if err != nil {
			landlockErr = err
			return
		}
		landlockSB = &Sandbox{Kind: "landlock", namespaces: level}
	})
	return landlockSB, landlockErr
}

// DetectSandbox returns the jail mechanism for a [subprocess].sandbox mode.
// "bwrap" and "landlock" name one and fail when it cannot run here, so that
// a run stops rather than going unjailed; "auto" takes bwrap, else
// Landlock, else returns nil and no error (the caller warns, see
// UnjailedWarning); "none" returns nil. Probes run once per process.
func DetectSandbox(mode string) (*Sandbox, error) {
	switch mode {
	case "none":
		return nil, nil
	case "bwrap":
		sb, err := detectBwrap()
		if err != nil {
			return nil, fmt.Errorf("[subprocess].sandbox = \"bwrap\": %w; or set sandbox = \"auto\" to fall back to Landlock", err)
		}
		return sb, nil
	case "landlock":
		sb, err := detectLandlock()
		if err != nil {
			return nil, fmt.Errorf("[subprocess].sandbox = \"landlock\": %w; or set sandbox = \"auto\" (bwrap when installed)", err)
		}
		return sb, nil
	case "auto", "":
		if sb, err := detectBwrap(); err == nil {
			return sb, nil
		}
		if sb, err := detectLandlock(); err == nil {
			return sb, nil
		}
		return nil, nil
	}
	return nil, fmt.Errorf("unknown sandbox %q: one of auto, bwrap, landlock, none", mode)
}

// Jail is a command's confinement: a mechanism and what it lets through.
type Jail struct {
	Sandbox *Sandbox
	Spec    JailSpec
}
