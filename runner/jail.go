package runner

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/aegisdev/aegis/builtins/effect"
	"github.com/aegisdev/aegis/internal/subpath"
	"github.com/aegisdev/aegis/policy"
)

// The subprocess jail ([subprocess].sandbox). newJailer picks the
// mechanism (effect.DetectSandbox: bwrap, else Landlock under "auto") and
// confine derives each command's JailSpec from the policy's view
// (policy.JailView):
//
//   - a command sees the system's binaries and libraries, the trees the
//     policy's path lists are rooted in (read-only for read_allow,
//     read-write for write_allow and delete_allow), and the installation
//     of the program it runs (a version manager's shim is resolved first);
//   - the audit log and literal [filesystem].deny entries are absent, and
//     the policy file is read-only;
//   - a command whose output is public does not see local_only_read paths
//     at all (they are absent), so it cannot copy them anywhere; it gets
//     the network only with [subprocess].network = "host";
//   - a command whose output is labelled (it reads local-only files, or is
//     a local-only command) may write only inside the local-only zone,
//     change no file's mode, owner or times, and gets no network;
//   - a command without the network cannot open a Unix socket either.
//
// Without a mechanism ("none", or "auto" where none works) commands run
// unjailed, and every run under a policy that allows one carries
// effect.UnjailedWarning (from its start: whether a command runs may depend
// on local-only data, the warning must not).

// jailer confines the commands of one run.
type jailer struct {
	mode     string          // [subprocess].sandbox
	probe    sync.Once       // finds sb: effect.DetectSandbox(mode)
	sb       *effect.Sandbox // nil: unjailed
	sbErr    error
	view     policy.JailView
	root     string
	auditLog string

	mu    sync.Mutex
	shims map[string]shimTarget
}

// newJailer prepares the jail for a run. An explicitly named mechanism
// that cannot run here fails the run rather than running unjailed. The
// mechanism is found when the run starts if the policy allows a command;
// otherwise no command can run, and the probe (bwrap starts a test
// sandbox) is left to the first command, if any ever reaches confine.
func newJailer(p *policy.Policy, auditLog string) (*jailer, error) {
	j := &jailer{mode: p.Sandbox(), view: p.Jail(), root: p.Root(), auditLog: auditLog, shims: map[string]shimTarget{}}
	if p.Enabled(policy.SubprocessExec) {
		if _, err := j.sandbox(); err != nil {
			return nil, err
		}
	}
	return j, nil
}

// sandbox returns the run's jail mechanism (nil: commands run unjailed),
// probing for it on the first call.
func (j *jailer) sandbox() (*effect.Sandbox, error) {
	j.probe.Do(func() { j.sb, j.sbErr = detectSandbox(j.mode) })
	return j.sb, j.sbErr
}

// detectSandbox is effect.DetectSandbox; tests count its calls.
var detectSandbox = effect.DetectSandbox

// JailWarning returns effect.UnjailedWarning when commands allowed by p
// would run without a jail on this machine (or why this build runs none),
// "" otherwise (also when the policy allows no command), and the mechanism that would confine them
// ("bwrap (/usr/bin/bwrap)", "none"). An explicitly named mechanism that
// cannot run here is returned as the error a run would fail with.
func JailWarning(p *policy.Policy) (warning, mechanism string, err error) {
	sb, err := effect.DetectSandbox(p.Sandbox())
	if err != nil {
		return "", "", err
	}
	return commandWarning(p, sb), sb.String(), nil
}

// commandWarning is the warning every run under p carries when its
// commands would run with sb: none when p allows no command, the refusal
// where this build runs no command (effect.ExecUnsupported), and
// effect.UnjailedWarning without a jail.
func commandWarning(p *policy.Policy, sb *effect.Sandbox) string {
	switch {
	case !p.Enabled(policy.SubprocessExec):
		return ""
	case effect.ExecUnsupported != nil:
		return effect.ExecUnsupported.Error()
	case sb == nil:
		return effect.UnjailedWarning
	}
	return ""
}

// confine is builtins.Host.Jail.
func (j *jailer) confine(c *effect.Command, labelled bool) error {
	sb, err := j.sandbox()
	if err != nil {
		return err
	}
	if sb == nil {
		return nil
	}
	spec := j.spec(labelled)
	prog := c.Path
	if prog == "" {
		prog = c.Argv[0]
	}
	t := j.resolveShim(c.Argv[0], prog)
	if t.exe != "" {
		c.Path = t.exe
		c.Env = prependPath(c.Env, t.binDir)
		prog = t.exe
	}
	if inst := installation(prog, j.root, j.view.Home); inst != "" {
		spec.ReadOnly = append(spec.ReadOnly, inst)
	}
	c.Jail = &effect.Jail{Sandbox: sb, Spec: spec}
	return nil
}

// spec derives a command's jail from the policy's view.
func (j *jailer) spec(labelled bool) effect.JailSpec {
	v := j.view
	read, write, local := roots(v.Read), roots(v.Write), roots(v.LocalOnly)
	s := effect.JailSpec{Dir: j.root, Frozen: nil}
	for _, p := range v.Protected {
		if p != j.auditLog {
			s.Frozen = append(s.Frozen, p)
		}
	}
	s.Hide = append(s.Hide, j.auditLog)
	for _, d := range v.Deny {
		if d.Whole {
			s.Hide = append(s.Hide, d.Root)
		}
	}
	if labelled {
		// It may read everything the policy lets scripts read, local-only
		// files included, and write only where every file is local-only.
		s.ReadOnly = append(append(append(s.ReadOnly, read...), local...), write...)
		s.ReadWrite = append(s.ReadWrite, v.Zone...)
		s.Labelled = true // nor change a file's mode or times
		return s
	}
	s.ReadOnly = read
	s.ReadWrite = write
	s.Network = v.Network == policy.NetworkHost
	s.Hide = append(s.Hide, hiddenLocalOnly(v.LocalOnly, append(append([]string(nil), read...), write...))...)
	return s
}

func roots(areas []policy.Area) []string {
	out := make([]string, 0, len(areas))
	for _, a := range areas {
		out = append(out, a.Root)
	}
	return out
}

// maxHideWalk bounds the entries listed to find the files a local-only glob
// matches inside the visible trees; past it the tree is hidden whole.
const maxHideWalk = 100_000

// hiddenLocalOnly returns what a public command must not see: each literal
// local-only entry, and each existing match of a local-only glob inside a
// visible tree (found by listing; a tree too large to list is hidden
// whole, so that nothing local-only shows).
func hiddenLocalOnly(local []policy.Area, visible []string) []string {
	var out []string
	budget := maxHideWalk
	for _, a := range local {
		if a.Whole {
			out = append(out, a.Root)
			continue
		}
		for _, t := range visible {
			var start string
			switch {
			case subpath.Within(a.Root, t):
				start = a.Root
			case subpath.Within(t, a.Root):
				start = t
			default:
				continue
			}
			var found []string
			err := filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					if p == start {
						return fs.SkipAll // nothing there
					}
					return nil
				}
				budget--
				if budget < 0 {
					return errWalkBudget
				}
				if a.Match(p) {
					found = append(found, p)
					if d.IsDir() {
						return fs.SkipDir
					}
				}
				return nil
			})
			if errors.Is(err, errWalkBudget) {
				out = append(out, start)
				continue
			}
			out = append(out, found...)
		}
	}
	return out
}

var errWalkBudget = errors.New("too many entries")

// installation is the directory a program needs visible to run: for
// prefix/bin/prog, the prefix (a Python or Node installation keeps its
// libraries beside bin/), else the program's directory; "" for a program
// in the system trees every jail shows. It never widens to the home
// directory, the policy root or anything above them: then only the
// program's own file is shown.
func installation(prog, root, home string) string {
	if prog == "" || !filepath.IsAbs(prog) || effect.IsSystemPath(prog) {
		return ""
	}
	dir := filepath.Dir(prog)
	if b := filepath.Base(dir); b == "bin" || b == "sbin" {
		dir = filepath.Dir(dir)
	}
	for _, d := range []string{dir, filepath.Dir(prog)} {
		if d != "/" && !subpath.Within(root, d) && (home == "" || !subpath.Within(home, d)) {
			return d
		}
	}
	return prog
}

// shimTarget is what a version manager's shim runs.
type shimTarget struct {
	exe    string // the real program, symlinks resolved
	binDir string // the directory the manager would put first on PATH
}

// shimManagers are version managers whose shims are links to one binary
// that dispatches on its name; each answers "<manager> which <name>".
var shimManagers = map[string]bool{"mise": true, "rtx": true, "rustup": true, "volta-shim": true}

// resolveShim returns what the program a command names runs when it is a
// version manager's shim (pyenv, rbenv, nodenv, goenv and asdf shims are
// scripts that exec "<manager> exec <name>"; mise, rustup and volta shims
// are links to the manager), so that the jail shows that installation and
// runs it directly: the manager's own state (~/.pyenv/version,
// ~/.tool-versions, ~/.config/mise) stays outside the jail. The manager is
// asked outside the jail, in the policy root, with this process's
// environment, as a shell would. The zero shimTarget means no shim.
func (j *jailer) resolveShim(argv0, prog string) shimTarget {
	found := argv0
	if !strings.Contains(argv0, "/") {
		lp, err := exec.LookPath(argv0)
		if err != nil {
			return shimTarget{}
		}
		found = lp
	} else if !filepath.IsAbs(found) {
		found = filepath.Join(j.root, found)
	}
	name := filepath.Base(argv0)
	key := found + "\x00" + name
	j.mu.Lock()
	t, ok := j.shims[key]
	j.mu.Unlock()
	if ok {
		return t
	}
	t = resolveShim(found, prog, name, j.root)
	j.mu.Lock()
	j.shims[key] = t
	j.mu.Unlock()
	return t
}

func resolveShim(found, prog, name, dir string) shimTarget {
	var manager []string
	env := os.Environ()
	if base := filepath.Base(prog); shimManagers[base] && base != name {
		mgr := prog
		if base == "volta-shim" {
			mgr = filepath.Join(filepath.Dir(prog), "volta")
		}
		manager = []string{mgr, "which", name}
	} else if filepath.Base(filepath.Dir(found)) == "shims" {
		mgr, exports := parseShimScript(found)
		if mgr == "" {
			return shimTarget{}
		}
		manager = []string{mgr, "which", name}
		env = append(env, exports...)
	} else {
		return shimTarget{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, manager[0], manager[1:]...)
	cmd.Env, cmd.Dir = env, dir
	var out bytes.Buffer
	cmd.Stdout = &out
	if cmd.Run() != nil {
		return shimTarget{}
	}
	line, _, _ := strings.Cut(strings.TrimSpace(out.String()), "\n")
	if line == "" || !filepath.IsAbs(line) || out.Len() > 4096 {
		return shimTarget{}
	}
	real, err := filepath.EvalSymlinks(line)
	if err != nil || real == prog {
		return shimTarget{}
	}
	return shimTarget{exe: real, binDir: filepath.Dir(line)}
}

// parseShimScript reads a shim script: the manager it execs ("exec
// <manager> exec <name>") and the variables it exports.
func parseShimScript(path string) (manager string, exports []string) {
	f, err := os.Open(path)
	if err != nil {
		return "", nil
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 64<<10))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(line, "export "); ok {
			if k, val, ok := strings.Cut(v, "="); ok && !strings.ContainsAny(k, " $") {
				exports = append(exports, k+"="+strings.Trim(val, `"'`))
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "exec" && f[2] == "exec" {
			manager = strings.Trim(f[1], `"'`)
			if !filepath.IsAbs(manager) {
				if lp, err := exec.LookPath(manager); err == nil {
					manager = lp
				} else {
					manager = ""
				}
			}
		}
	}
	return manager, exports
}

// prependPath puts dir first on the PATH of env, if env has one.
func prependPath(env []string, dir string) []string {
	out := append([]string(nil), env...)
	for i, kv := range out {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			out[i] = "PATH=" + dir + string(os.PathListSeparator) + v
		}
	}
	return out
}
