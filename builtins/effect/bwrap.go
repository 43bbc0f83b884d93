package effect

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// BwrapSpec is what a jailed command may see.
type BwrapSpec struct {
	ReadOnly  []string // absolute paths bound read-only
	ReadWrite []string // absolute paths bound read-write
	ShareNet  bool     // keep the host network namespace (a host is allowed)
	Dir       string   // working directory inside the jail (bound read-only if not already bound)
	// Hide lists paths made invisible after the binds: an empty tmpfs over a
	// directory, /dev/null over a file.
	Hide []string
}

// systemPaths are bound read-only so that ordinary binaries and their
// libraries run; none of them holds user data.
var systemPaths = [...]string{
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d",
	"/etc/ssl", "/etc/ca-certificates", "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf",
}

// BwrapPrefix returns the argv prefix that runs a command inside a jail
// derived from spec. The command's environment is passed through bwrap
// unchanged (it is already exactly what the policy allows).
func BwrapPrefix(bwrap string, spec BwrapSpec) []string {
	argv := []string{bwrap,
		"--die-with-parent", "--new-session",
		"--unshare-user-try", "--unshare-pid", "--unshare-uts", "--unshare-ipc", "--unshare-cgroup-try",
	}
	if !spec.ShareNet {
		argv = append(argv, "--unshare-net")
	}
	for _, p := range systemPaths {
		argv = append(argv, "--ro-bind-try", p, p)
	}
	argv = append(argv, "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp")
	ro := prune(spec.ReadOnly)
	rw := prune(spec.ReadWrite)
	// The working directory first: a later bind of a parent would hide the
	// binds beneath it.
	if spec.Dir != "" && !covered(spec.Dir, ro) && !covered(spec.Dir, rw) {
		argv = append(argv, "--ro-bind-try", spec.Dir, spec.Dir)
	}
	for _, p := range ro {
		if !covered(p, rw) {
			argv = append(argv, "--ro-bind-try", p, p)
		}
	}
	for _, p := range rw {
		argv = append(argv, "--bind-try", p, p)
	}
	for _, p := range prune(spec.Hide) {
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			// Nothing to hide yet; a file created later inside a hidden
			// tree is under its tmpfs.
		case fi.IsDir():
			argv = append(argv, "--tmpfs", p)
		default:
			argv = append(argv, "--ro-bind", "/dev/null", p)
		}
	}
	if spec.Dir != "" {
		argv = append(argv, "--chdir", spec.Dir)
	}
	return append(argv, "--")
}

// prune cleans paths, drops relative ones and those under another.
func prune(paths []string) []string {
	var clean []string
	for _, p := range paths {
		if p == "" || !filepath.IsAbs(p) {
			continue
		}
		clean = append(clean, filepath.Clean(p))
	}
	sort.Strings(clean)
	var out []string
	for _, p := range clean {
		if !covered(p, out) {
			out = append(out, p)
		}
	}
	return out
}

// covered reports whether p is one of dirs or lies under one of them.
func covered(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, strings.TrimSuffix(d, "/")+"/") {
			return true
		}
	}
	return false
}

// BwrapPath finds bwrap and checks that it can create a jail here (user
// namespaces may be disabled, or the process may lack privileges).
func BwrapPath() (string, error) {
	path, err := exec.LookPath("bwrap")
	if err != nil {
		return "", errors.New("bwrap (bubblewrap) is not installed: install it (Debian/Ubuntu: apt-get install bubblewrap) or remove [subprocess].sandbox")
	}
	out, err := exec.Command(path, "--die-with-parent", "--unshare-user-try", "--ro-bind", "/", "/", "--", "true").CombinedOutput()
	if err != nil {
		return "", errors.New("bwrap cannot create a sandbox on this system (" + strings.TrimSpace(string(out)) + "): enable unprivileged user namespaces or remove [subprocess].sandbox")
	}
	return path, nil
}
