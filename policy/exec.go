package policy

import (
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/aegisdev/aegis/internal/quote"
	"github.com/aegisdev/aegis/internal/subpath"
	"github.com/aegisdev/aegis/labels"
)

// Subprocess decisions, in order:
//
//  1. argv shape: not empty, no NUL bytes, bounded size.
//  2. The program: argv[0] is resolved to a real file (through PATH for a
//     bare name, against the root for a relative path, symlinks followed).
//  3. deny_commands: an entry matches the basename of argv[0], the basename
//     of the real program, or (for an entry with a '/') the real program.
//     A deny entry written as a full path therefore also stops the bare
//     name, and a symlink or copy named innocently still stops on its
//     target's name.
//  4. [filesystem].deny on the program's real path.
//  5. local_only_commands, then allow_commands. A bare entry ("git")
//     allows the program PATH finds for that name and nothing else: a
//     full-path argv[0] naming a different file called git is denied. An
//     entry with a '/' allows exactly that file.
//  6. deny_args, keyed like deny_commands, matched as described in argv.go
//     and, for programs Aegis knows (git), argsyntax.go.
//  7. Path arguments: every candidate (argv.go) must stay clear of
//     [filesystem].deny and of the policy file and the audit log, whether
//     or not it exists (the program may create it). A candidate that looks
//     like a path (absolute, ~, ./ or ../, or its first component exists
//     under the root) must also be in one of the four allow lists; other
//     words ("origin/main") need not.
//  8. Local-only files: the output of a command handed a local_only_read
//     path is labelled with the file's principal. Without a sandbox only a
//     local_only_commands program may be handed one: a program can copy
//     what it reads, and the label on its output does not follow the copy
//     (git add secrets/k, then git log -p; python3 copy.py secrets/k). With
//     sandbox = "bwrap" or "landlock" (a run never goes unjailed) the
//     runner's jail lets such a program write only inside the local-only
//     zone and gives it no network, so any allowed program may read it.
//     "auto" may fall back to no jail, so it counts as no sandbox here. In
//     both cases no other argument may name a place scripts can reach
//     outside local_only_read (cp secrets/k src/k would leave an
//     unlabelled copy in a readable tree). A directory argument that may
//     hold local-only files counts as local-only (grep -r secret data/).
//
// The runner must start the child in the policy root (relative arguments
// are judged there) and exec Decision.ResolvedPath, not argv[0].

type cmdRule struct {
	entry Entry
	key   string
	name  string // basename of the entry
	path  string // real path when the entry names a file ('/' in it)
}

func (p *Policy) compileCmd(e Entry, key string) cmdRule {
	r := cmdRule{entry: e, key: key, name: path.Base(e.Value)}
	if !strings.Contains(e.Value, "/") {
		return r
	}
	abs := e.Value
	switch {
	case strings.HasPrefix(abs, "~/") && p.home != "":
		abs = p.home + abs[1:]
	case !path.IsAbs(abs):
		abs = p.root + "/" + abs
	}
	abs = path.Clean(abs)
	r.path = abs
	if real, err := realPath(abs, ""); err == nil {
		r.path = real
	}
	return r
}

// matchesProgram is the deny-side match: by either basename or by file.
func (r *cmdRule) matchesProgram(base, realBase, prog string) bool {
	return r.name == base || r.name == realBase || (r.path != "" && r.path == prog)
}

// argRule is one compiled deny_args pattern.
type argRule struct {
	cmd    cmdRule
	entry  Entry
	tokens []string
}

// Bounds on an argv, checked before any other work.
const (
	maxArgs     = 4096
	maxArgvSize = 1 << 20
)

func (p *Policy) decideExec(argv []string) Decision {
	d := Decision{Capability: SubprocessExec}
	deny := func(reason, hint string) Decision {
		d.Allowed = false
		d.Reason = "subprocess.exec of " + d.Target + " denied: " + reason
		d.Hint = hint
		return d
	}
	if len(argv) == 0 || argv[0] == "" {
		return deny("no program given", "give the command and its arguments, e.g. [\"git\", \"status\"]")
	}
	if len(argv) > maxArgs {
		d.Target = shown(argv[0])
		return deny(fmt.Sprintf("%d arguments, over the limit of %d", len(argv), maxArgs), "split the work into several calls")
	}
	total := 0
	for _, a := range argv {
		total += len(a)
	}
	if total > maxArgvSize {
		d.Target = shown(argv[0])
		return deny(fmt.Sprintf("the arguments total %d bytes, over the limit of %d", total, maxArgvSize), "pass large data through a file")
	}
	d.Target = quote.Argv(argv)
	for i, a := range argv {
		if strings.IndexByte(a, 0) >= 0 {
			return deny(fmt.Sprintf("argument %d contains a NUL byte", i), "remove it")
		}
	}
	argv0 := argv[0]
	base := path.Base(argv0)
	// Deny by name first: a denied program is denied whether or not it is
	// installed, and the message should say so.
	for i := range p.cmdDeny {
		if r := &p.cmdDeny[i]; r.name == base {
			d.by(r.entry, r.key)
			return deny(fmt.Sprintf("%s %q (%s) matches the program", r.key, r.entry.Value, d.Source), denyHint(r.entry, r.key))
		}
	}
	var prog string
	if strings.Contains(argv0, "/") {
		spelled, real, tr, err := p.resolveTargetVia(argv0, true)
		d.steeredBy(tr)
		if err != nil {
			return deny(fmt.Sprintf("program %s: %v", shown(argv0), err), "give a valid program path")
		}
		if r := p.denyMatch(spelled, real); r != nil {
			d.by(r.entry, r.key)
			return deny(fmt.Sprintf("the program %s is inside %s %q (%s)", real, r.key, r.entry.Value, d.Source), denyHint(r.entry, r.key))
		}
		prog = real
	} else {
		lp, err := p.lookPath(argv0)
		if err != nil {
			return deny(fmt.Sprintf("%q is not found on PATH", argv0), "install it, or give its full path")
		}
		if !filepath.IsAbs(lp) {
			if lp, err = filepath.Abs(lp); err != nil {
				return deny(fmt.Sprintf("cannot locate %q: %v", argv0, err), "give its full path")
			}
		}
		if prog, err = realPath(path.Clean(lp), ""); err != nil {
			return deny(fmt.Sprintf("cannot resolve %s: %v", lp, err), "give its full path")
		}
	}
	d.ResolvedPath = prog
	realBase := path.Base(prog)

	for i := range p.cmdDeny {
		r := &p.cmdDeny[i]
		if !r.matchesProgram(base, realBase, prog) {
			continue
		}
		d.by(r.entry, r.key)
		what := ""
		if r.name != base {
			what = fmt.Sprintf(" (%s is %s)", argv0, prog)
		}
		return deny(fmt.Sprintf("%s %q (%s) matches the program%s", r.key, r.entry.Value, d.Source, what), denyHint(r.entry, r.key))
	}
	if r := firstPathMatch(p.fsDeny, prog); r != nil {
		d.by(r.entry, r.key)
		return deny(fmt.Sprintf("the program %s is inside %s %q (%s)", prog, r.key, r.entry.Value, d.Source), denyHint(r.entry, r.key))
	}

	rule, local, mismatch := p.matchCommand(argv0, base, prog)
	if rule == nil {
		if mismatch != "" {
			return deny(mismatch, fmt.Sprintf("to allow this file, add %q to [subprocess].allow_commands", prog))
		}
		return deny(fmt.Sprintf("no [subprocess].allow_commands or local_only_commands entry matches %q", base),
			fmt.Sprintf("to allow it, add %q to [subprocess].allow_commands", base))
	}

	args := argv[1:]
	for i := range p.denyArgs {
		r := &p.denyArgs[i]
		if !r.cmd.matchesProgram(base, realBase, prog) || !r.matches(args) {
			continue
		}
		key := "[subprocess.deny_args]." + r.cmd.entry.Value
		d.by(r.entry, key)
		return deny(fmt.Sprintf("the arguments match %s %q (%s)", key, r.entry.Value, d.Source), denyHint(r.entry, key))
	}

	var filePrincipals, localArgs, public []string
	for i, a := range args {
		for _, cand := range pathCandidates(a) {
			targets, isPath := p.argPathTargets(cand)
			for _, t := range targets {
				spelled, real, tr, err := p.resolveTargetVia(t, true)
				d.steeredBy(tr)
				if err != nil {
					if !isPath {
						continue
					}
					return deny(fmt.Sprintf("argument %d (%s): %v", i+1, shown(a), err), "give a valid path")
				}
				if p.isProtected(real) {
					return deny(fmt.Sprintf("argument %d (%s) names %s, which Aegis protects (the policy file or the audit log)", i+1, shown(a), real),
						"no policy can hand these to a program")
				}
				if r := p.denyMatch(spelled, real); r != nil {
					d.by(r.entry, r.key)
					return deny(fmt.Sprintf("argument %d (%s) names %s, inside %s %q (%s)", i+1, shown(a), real, r.key, r.entry.Value, d.Source),
						denyHint(r.entry, r.key))
				}
				direct := firstPathMatch(p.fsLocal, real)
				other := firstPathMatch(p.fsRead, real) != nil || firstPathMatch(p.fsWrite, real) != nil || firstPathMatch(p.fsDelete, real) != nil
				if isPath && direct == nil && !other {
					return deny(fmt.Sprintf("argument %d (%s) names %s, which no [filesystem] allow list covers", i+1, shown(a), real),
						fmt.Sprintf("the program may read or write it; add %q to [filesystem].read_allow or write_allow, or pass a path the policy allows (attach option values with --opt=value)", p.suggestPattern(real)))
				}
				lr := direct
				if lr == nil && isPath {
					// A directory holding local-only files hands them over
					// too (grep -r, cp -r, tar).
					lr = p.localUnder(real)
				}
				if lr != nil && isPath {
					localArgs = append(localArgs, real)
					if pr := labels.File(lr.entry.Value); !contains(filePrincipals, pr) {
						filePrincipals = append(filePrincipals, pr)
					}
				}
				if direct == nil && other {
					// A place scripts can reach outside the local-only
					// zone, existing or not yet: without a sandbox the
					// program may write it, whatever list allows it.
					public = append(public, real)
				}
			}
		}
	}
	if len(localArgs) > 0 && !local && !p.alwaysJailed() {
		return deny(fmt.Sprintf("it hands %s, which is local-only, to %s, which is not a [subprocess].local_only_commands entry, and without a guaranteed sandbox a program can copy what it reads (git add, cp, a script it runs) where the label does not follow", localArgs[0], base),
			fmt.Sprintf("if %s may see local-only data, add %q to [subprocess].local_only_commands (its output is then local-only too), or set [subprocess].sandbox = \"bwrap\" (or \"landlock\"; \"auto\" may run unjailed) so that it can write only inside the local-only zone", base, base))
	}
	if len(localArgs) > 0 && len(public) > 0 {
		return deny(fmt.Sprintf("it hands the program local-only %s together with %s, which scripts can reach outside the local-only zone: the program could copy the data there, where it loses its label", localArgs[0], public[0]),
			"pass local-only files only with other local-only paths (the zone: paths in both local_only_read and write_allow), or split the call")
	}

	d.Allowed = true
	d.by(rule.entry, rule.key)
	d.Reason = fmt.Sprintf("subprocess.exec of %s allowed by %s %q (%s); runs %s", d.Target, rule.key, rule.entry.Value, d.Source, prog)
	if local {
		d.addPrincipal(labels.Cmd(rule.entry.Value))
	}
	for _, pr := range filePrincipals {
		d.addPrincipal(pr)
	}
	if d.LocalOnly {
		d.Reason += "; the output is local-only"
	}
	return d
}

// localUnder returns a local_only_read rule that may match something inside
// the directory dir, or nil (also when dir is not a directory). It
// over-approximates: a glob whose literal prefix is an ancestor of dir is
// assumed to match inside it.
func (p *Policy) localUnder(dir string) *pathRule {
	if len(p.fsLocal) == 0 {
		return nil
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return nil
	}
	for i := range p.fsLocal {
		r := &p.fsLocal[i]
		q := r.prefix
		if r.literal {
			q = r.glob
		}
		d := dir
		if r.fold {
			d = strings.ToLower(dir) // q is folded
		}
		if q == "" || d == "/" || subpath.Within(q, d) || subpath.Within(d, q) {
			return r
		}
	}
	return nil
}

// matchCommand finds the local-only or allow entry for the program.
// mismatch explains a bare entry whose name matched but whose file did not.
func (p *Policy) matchCommand(argv0, base, prog string) (rule *cmdRule, local bool, mismatch string) {
	if r := p.matchIn(p.cmdLocal, argv0, base, prog, &mismatch); r != nil {
		return r, true, ""
	}
	if r := p.matchIn(p.cmdAllow, argv0, base, prog, &mismatch); r != nil {
		return r, false, ""
	}
	return nil, false, mismatch
}

// matchIn returns the first entry of rules allowing the program.
func (p *Policy) matchIn(rules []cmdRule, argv0, base, prog string, mismatch *string) *cmdRule {
	for i := range rules {
		r := &rules[i]
		if r.path != "" {
			if r.path == prog {
				return r
			}
			continue
		}
		if r.name != base {
			continue
		}
		if !strings.Contains(argv0, "/") {
			// Found through PATH, which is what a bare entry means.
			return r
		}
		onPath := ""
		if lp, err := p.lookPath(r.name); err == nil {
			if abs, err := filepath.Abs(lp); err == nil {
				onPath = abs
				if real, err := realPath(path.Clean(abs), ""); err == nil && real == prog {
					return r
				}
			}
		}
		if *mismatch == "" {
			if onPath == "" {
				*mismatch = fmt.Sprintf("%s %q allows the %s found on PATH, and there is none; %s is not it", r.key, r.entry.Value, r.name, prog)
			} else {
				*mismatch = fmt.Sprintf("%s %q allows the %s found on PATH (%s); %s is a different file", r.key, r.entry.Value, r.name, onPath, prog)
			}
		}
	}
	return nil
}

// argPathTargets returns the readings of a candidate as a path: as given,
// and, for "~/x", also literally (the program gets no shell, so it may open
// a directory called "~" under its working directory). isPath says whether
// the candidate looks like a path (absolute, ~, ./ or ../, or its first
// component exists under the root) and must therefore be covered by an
// allow list; every reading, path-looking or not, must stay clear of
// [filesystem].deny and the protected files, since the program may create
// what does not exist yet.
func (p *Policy) argPathTargets(c string) (targets []string, isPath bool) {
	if c == "" || len(c) > maxPathLen {
		return nil, false
	}
	switch {
	case c[0] == '/':
		return []string{c}, true
	case c == "~" || strings.HasPrefix(c, "~/"):
		return []string{c, "./" + c}, true
	case c == "." || c == ".." || strings.HasPrefix(c, "./") || strings.HasPrefix(c, "../"):
		return []string{c}, true
	}
	first, _, _ := strings.Cut(c, "/")
	at := p.root + "/" + first
	if firstPathMatch(p.fsLocal, at) != nil {
		// Whether a local-only place exists is local-only (fs.exists would
		// label it): the word is read as a path whatever is there.
		return []string{c}, true
	}
	_, err := os.Lstat(at)
	return []string{c}, err == nil
}

// IsLocalOnlyCommand reports whether a subprocess.exec decision ran a
// local_only_commands entry (and so may receive local-only variables, see
// ChildEnv).
func (d Decision) IsLocalOnlyCommand() bool {
	for _, pr := range d.Principals {
		if strings.HasPrefix(pr, labels.KindCmd+":") {
			return true
		}
	}
	return false
}
