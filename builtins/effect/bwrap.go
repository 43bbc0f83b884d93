package effect

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// bwrapArgs returns the argv prefix that runs a command inside a bubblewrap
// jail derived from spec (see jail.go for what every jail guarantees). euid
// is this process's effective uid: root becomes nobody inside. The command's
// environment passes through bwrap unchanged (it is already exactly what the
// policy allows), except TMPDIR, which names the jail's private /tmp.
func bwrapArgs(bwrap string, spec JailSpec, euid int) []string {
	argv := []string{bwrap,
		"--die-with-parent", "--new-session",
		"--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
		// bwrap keeps root's capabilities unless told otherwise.
		"--cap-drop", "ALL",
	}
	if euid == 0 {
		id := strconv.Itoa(jailUID)
		argv = append(argv, "--uid", id, "--gid", id)
	}
	if !spec.Network {
		argv = append(argv, "--unshare-net")
	}
	for _, p := range systemPaths {
		argv = append(argv, "--ro-bind-try", p, p)
	}
	argv = append(argv, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--setenv", "TMPDIR", "/tmp")
	nodes := spec.plan()
	byPath := map[string]*node{}
	for i := range nodes {
		byPath[nodes[i].path] = &nodes[i]
	}
	if spec.Dir != "" && modeAt(byPath, spec.Dir) == accessNone {
		// The working directory exists, empty, when no tree shows it.
		argv = append(argv, "--dir", spec.Dir)
	}
	hidden := spec.hiddenSet()
	for _, n := range nodes {
		switch {
		case n.hidden:
			argv = append(argv, "--tmpfs", n.path, "--remount-ro", n.path)
		case n.carve:
			mode := modeAt(byPath, n.path)
			if !canonical(n.path) {
				continue
			}
			argv = append(argv, "--tmpfs", n.path)
			for _, e := range carveEntries(n.path, hidden) {
				p := filepath.Join(n.path, e.Name())
				if e.Type()&os.ModeSymlink != 0 {
					if target, err := os.Readlink(p); err == nil {
						argv = append(argv, "--symlink", target, p)
					}
					continue
				}
				argv = append(argv, bindFlag(mode), p, p)
			}
			argv = append(argv, "--remount-ro", n.path)
		default:
			if !canonical(n.path) {
				// Swapped for a symlink since the policy was loaded: bwrap
				// would bind the link's target. Show nothing there.
				continue
			}
			argv = append(argv, bindFlag(n.mode), n.path, n.path)
		}
	}
	if spec.Dir != "" {
		argv = append(argv, "--chdir", spec.Dir)
	}
	if spec.bwrapSeccomp().any() {
		argv = append(argv, "--seccomp", strconv.Itoa(seccompFD))
	}
	return append(argv, "--")
}

func bindFlag(mode access) string {
	if mode == accessRW {
		return "--bind-try"
	}
	return "--ro-bind-try"
}

// canonical reports whether p reaches itself: no component is a symlink.
func canonical(p string) bool {
	real, err := filepath.EvalSymlinks(p)
	return err == nil && real == p
}

// bwrapProbe is the smallest jail with every flag a real one uses: if it
// runs, bwrap works here.
func bwrapProbe(path string) error {
	argv := bwrapArgs(path, JailSpec{}, os.Geteuid())
	argv = append(argv, "/bin/true")
	cmd := exec.Command(argv[0], argv[1:]...)
	filter, err := seccompFile(JailSpec{})
	if err != nil {
		return err
	}
	defer filter.Close()
	cmd.ExtraFiles = []*os.File{filter}
	out, err := cmd.CombinedOutput()
	if err != nil {
		msg := strings.TrimSpace(string(out))
		if msg == "" {
			msg = err.Error()
		}
		return errors.New(msg)
	}
	return nil
}
