package effect

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
)

// The Landlock jail. Landlock confines the process that asks for it, and Go
// cannot run code between fork and exec, so a jailed command starts as this
// same binary (/proc/self/exe) under the name landlockHelper: the helper
// drops every capability, sets no_new_privs, enforces the ruleset and execs
// the command. Where the kernel allows, the helper also starts in new user,
// pid, ipc, uts and (without network) network namespaces, as nobody.

// landlockHelper is argv[0] of a helper process.
const landlockHelper = "aegis-landlock-helper"

func init() {
	if len(os.Args) > 0 && os.Args[0] == landlockHelper {
		os.Exit(landlockHelperMain(os.Args[1:]))
	}
}

// llRule is one Landlock rule of a jail.
type llRule struct {
	Path   string `json:"p"`
	Access string `json:"a"` // "ro", "rw", "list" (a carved directory), "dev"
}

// llSpec is what the helper enforces.
type llSpec struct {
	Rules   []llRule     `json:"rules"`
	Network bool         `json:"net"`
	Seccomp seccompRules `json:"seccomp"`
}

// landlockABI returns the kernel's Landlock ABI version, 0 without one.
func landlockABI() int {
	v, err := llsys.LandlockGetABIVersion()
	if err != nil {
		return 0
	}
	return v
}

// landlockRules computes the rules for spec: Landlock only ever grants, and
// a grant on a directory covers everything below it, so a tree holding a
// hidden or frozen path (or a read-only tree inside a read-write one) is
// carved: the directory itself may be listed, and each entry is granted on
// its own, recursively down to what must stay hidden.
func (s JailSpec) landlockRules(tmp string) []llRule {
	var rules []llRule
	for _, p := range systemPaths {
		rules = append(rules, llRule{p, "ro"})
	}
	// The command's own /proc entry (the helper's pid, kept across exec),
	// not every process's: command lines of other processes stay unseen.
	rules = append(rules, llRule{"/proc/self", "ro"})
	for _, d := range []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"} {
		rules = append(rules, llRule{d, "dev"})
	}
	if tmp != "" {
		rules = append(rules, llRule{tmp, "rw"})
	}
	nodes := s.plan()
	hidden := map[string]bool{}
	var hiddenDirs []string
	for _, p := range clean(s.Hide) {
		hidden[p] = true
	}
	for _, n := range nodes {
		if n.hidden {
			hiddenDirs = append(hiddenDirs, n.path)
		}
	}
	frozen := map[string]bool{}
	for _, n := range nodes {
		if n.mode == accessRO {
			frozen[n.path] = true
		}
	}
	// restricted reports whether something under dir (strictly) must get
	// less than mode.
	restricted := func(dir string, mode access) bool {
		for h := range hidden {
			if h != dir && covered(h, []string{dir}) {
				return true
			}
		}
		if mode == accessRW {
			for f := range frozen {
				if f != dir && covered(f, []string{dir}) {
					return true
				}
			}
		}
		return false
	}
	name := map[access]string{accessRO: "ro", accessRW: "rw"}
	var grant func(p string, mode access, depth int)
	grant = func(p string, mode access, depth int) {
		if hidden[p] || covered(p, hiddenDirs) || !canonical(p) {
			return
		}
		if !restricted(p, mode) || depth > 64 {
			rules = append(rules, llRule{p, name[mode]})
			return
		}
		rules = append(rules, llRule{p, "list"})
		ents, err := os.ReadDir(p)
		if err != nil {
			return
		}
		for _, e := range ents {
			if e.Type()&os.ModeSymlink != 0 {
				// A rule would follow the link; the link itself needs none.
				continue
			}
			q := filepath.Join(p, e.Name())
			m := mode
			if frozen[q] {
				m = accessRO
			}
			grant(q, m, depth+1)
		}
	}
	for _, n := range nodes {
		if n.hidden || n.mode == accessNone {
			continue
		}
		grant(n.path, n.mode, 0)
	}
	return rules
}

// landlockHelperMain is the helper: argv is the JSON spec, the program to
// run and its argv. It returns only on failure.
func landlockHelperMain(args []string) int {
	fail := func(format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "aegis landlock jail: "+format+"\n", a...)
		return 126
	}
	if len(args) == 1 && args[0] == "probe" {
		return 0
	}
	if len(args) < 3 {
		return fail("usage: %s SPEC PROGRAM ARGV0 [ARG...]", landlockHelper)
	}
	var spec llSpec
	if err := json.Unmarshal([]byte(args[0]), &spec); err != nil {
		return fail("bad spec: %v", err)
	}
	prog, argv := args[1], args[2:]
	runtime.LockOSThread() // never unlocked: the thread execs
	if err := dropCapabilities(); err != nil {
		return fail("drop capabilities: %v", err)
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fail("no_new_privs: %v", err)
	}
	cfg := landlock.V11.BestEffort()
	if spec.Network {
		cfg.HandledAccessNet = 0
	}
	var rules []landlock.Rule
	for _, r := range spec.Rules {
		fi, err := os.Stat(r.Path)
		if err != nil {
			continue
		}
		dir := fi.IsDir()
		switch {
		case r.Access == "list" && dir:
			rules = append(rules, landlock.PathAccess(llsys.AccessFSReadDir, r.Path))
		case r.Access == "dev":
			rules = append(rules, landlock.RWFiles(r.Path).WithIoctlDev())
		case r.Access == "rw" && dir:
			rules = append(rules, landlock.RWDirs(r.Path).WithRefer())
		case r.Access == "rw":
			rules = append(rules, landlock.RWFiles(r.Path))
		case dir:
			rules = append(rules, landlock.RODirs(r.Path))
		default:
			rules = append(rules, landlock.ROFiles(r.Path))
		}
	}
	fd, flags, err := cfg.NewRulesetFD(rules...)
	if err != nil {
		return fail("build the ruleset: %v", err)
	}
	if fd < 0 {
		return fail("the kernel enforces no Landlock rule")
	}
	if err := llsys.LandlockRestrictSelf(fd, flags); err != nil {
		return fail("enforce the ruleset: %v", err)
	}
	unix.Close(fd)
	if err := installSeccomp(spec.Seccomp); err != nil {
		return fail("seccomp filter: %v", err)
	}
	err = syscall.Exec(prog, argv, os.Environ())
	return fail("exec %s: %v", prog, err)
}

// dropCapabilities empties every capability set, the bounding set
// included, so that not even an execve as root grants one back. Without
// the capability to change the bounding set (nobody in a user namespace)
// there is nothing to drop.
func dropCapabilities() error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && !errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("clear ambient: %w", err)
	}
	last := 63
	if b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap"); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			last = n
		}
	}
	for c := 0; c <= last; c++ {
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EINVAL) {
			return fmt.Errorf("bounding set: %w", err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// landlockCommand rewrites argv (program first) to start the helper, and
// returns the process attributes that add the namespaces.
func landlockCommand(sb *Sandbox, spec JailSpec, tmp, prog string, argv []string) (path string, args []string, attr *syscall.SysProcAttr, err error) {
	b, err := json.Marshal(llSpec{Rules: spec.landlockRules(tmp), Network: spec.Network, Seccomp: spec.landlockSeccomp(sb.namespaces == nsNone)})
	if err != nil {
		return "", nil, nil, fmt.Errorf("encode the Landlock rules: %w", err)
	}
	args = append([]string{landlockHelper, string(b), prog}, argv...)
	return "/proc/self/exe", args, namespaceAttr(sb.namespaces, spec.Network), nil
}

// namespaceAttr returns the attributes starting the helper in the new
// namespaces the level allows. Setsid and Pdeathsig are added by Exec.
func namespaceAttr(level nsLevel, network bool) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	if level == nsNone {
		return attr
	}
	attr.Cloneflags = syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC | syscall.CLONE_NEWUTS
	if !network {
		attr.Cloneflags |= syscall.CLONE_NEWNET
	}
	if level == nsUser {
		uid, gid := os.Geteuid(), os.Getegid()
		inUID, inGID := uid, gid
		if uid == 0 {
			inUID, inGID = jailUID, jailUID
		}
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: inUID, HostID: uid, Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: inGID, HostID: gid, Size: 1}}
		attr.GidMappingsEnableSetgroups = false
		attr.Credential = &syscall.Credential{Uid: uint32(inUID), Gid: uint32(inGID), NoSetGroups: true}
	}
	return attr
}

// probeLandlock checks that a helper can jail /bin/true here, and finds the
// deepest namespace level it can start at.
func probeLandlock() (nsLevel, error) {
	abi := landlockABI()
	if abi < 1 {
		return nsNone, errors.New("the kernel has no Landlock (Linux 5.13 or later, with landlock in the lsm= boot list)")
	}
	spec, err := json.Marshal(llSpec{Rules: JailSpec{}.landlockRules("")})
	if err != nil {
		return nsNone, err
	}
	var last error
	for _, level := range []nsLevel{nsUser, nsRoot, nsNone} {
		if level == nsRoot && os.Geteuid() != 0 {
			continue
		}
		cmd := exec.Command("/proc/self/exe", string(spec), "/bin/true", "true")
		cmd.Args[0] = landlockHelper
		cmd.SysProcAttr = namespaceAttr(level, false)
		out, err := cmd.CombinedOutput()
		if err == nil {
			return level, nil
		}
		last = fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return nsNone, fmt.Errorf("a Landlock helper cannot start here: %w", last)
}
