package policy

import (
	"strings"
	"sync"
)

// Per-program knowledge for [subprocess.deny_args]. The literal matching of
// argv.go sees words; a program reads meanings, and one meaning has many
// spellings: for git, "branch -D", "branch -d -f", "branch -df" and "branch
// --delete --force" are the same command, "push +main" and "push :main"
// are a force push and a deletion, "push --mirror" is both, and "rebase -x
// CMD" is "rebase --exec CMD". For a program listed in argSyntaxes a pattern
// also matches an argv when both, read the way the program reads them,
// agree:
//
//  1. Global options come first; the first other word is the subcommand
//     (options like -C, -c or --git-dir take the next word as their value).
//     A pattern naming a subcommand matches only that subcommand.
//  2. In the pattern, a short flag with a known meaning stands for that
//     meaning: "branch -D" requires --delete and --force.
//  3. In the argv, every short flag adds its meaning (-d gives --delete),
//     every long option what it implies (--mirror gives --force and
//     --prune; --force-with-lease gives --force; push --exec is
//     --receive-pack), also when abbreviated, and a refspec starting with
//     "+" gives --force, one starting with ":" --delete.
//  4. The pattern's requirements are then met as in argv.go (any order,
//     GNU abbreviations of long options, globs).
//
// This reading only adds matches: a pattern that matches literally still
// matches (argvMatches), so knowledge here can never make a deny_args
// entry weaker.

// argSyntax is how one program reads its command line.
type argSyntax struct {
	// globalValue: options before the subcommand that take the next
	// argument as their value.
	globalValue map[string]bool
	subs        map[string]subSyntax
}

// subSyntax is what the options of one subcommand mean.
type subSyntax struct {
	short    map[byte][]string   // a short flag -> the long options it stands for
	implies  map[string][]string // a long option -> the long options it also means
	refspecs bool                // +ref is a forced update, :ref a deletion
}

// argSyntaxes holds the programs Aegis knows, by base name. The tables are
// built on first use: every process that links this package would
// otherwise build them as it starts.
var argSyntaxes = sync.OnceValue(func() map[string]*argSyntax {
	return map[string]*argSyntax{"git": newGitSyntax()}
})

// newGitSyntax returns git(1)'s global options and, for the subcommands
// that can rewrite history, destroy data, or run another program, what
// their options mean (git 2.39 to 2.5x).
func newGitSyntax() *argSyntax {
	forceShort := map[byte][]string{'f': {"--force"}}
	pushLike := subSyntax{
		short: map[byte][]string{'f': {"--force"}, 'd': {"--delete"}},
		implies: map[string][]string{
			"--mirror":            {"--force", "--prune", "--delete"},
			"--force-with-lease":  {"--force"},
			"--force-if-includes": {"--force"},
			"--exec":              {"--receive-pack"},
			"--receive-pack":      {"--exec"},
			"--prune":             {"--delete"},
			"--delete":            {"--prune"},
		},
		refspecs: true,
	}
	return &argSyntax{
		globalValue: map[string]bool{
			"-C": true, "-c": true, "--git-dir": true, "--work-tree": true, "--namespace": true,
			"--super-prefix": true, "--config-env": true, "--attr-source": true,
		},
		subs: map[string]subSyntax{
			"push":      pushLike,
			"send-pack": pushLike,
			"http-push": {short: map[byte][]string{'d': {"--delete"}, 'D': {"--delete", "--force"}}, implies: pushLike.implies, refspecs: true},
			"fetch": {short: map[byte][]string{'f': {"--force"}, 'p': {"--prune"}, 'P': {"--prune-tags"}},
				implies: map[string][]string{"--exec": {"--upload-pack"}}, refspecs: true},
			"pull":       {short: map[byte][]string{'f': {"--force"}, 'p': {"--prune"}}, refspecs: true},
			"fetch-pack": {implies: map[string][]string{"--exec": {"--upload-pack"}, "--upload-pack": {"--exec"}}},
			"clone":      {short: map[byte][]string{'u': {"--upload-pack"}, 'c': {"--config"}}},
			"ls-remote":  {short: map[byte][]string{'u': {"--upload-pack"}}, implies: map[string][]string{"--exec": {"--upload-pack"}}},
			"archive":    {implies: map[string][]string{"--exec": {"--upload-archive"}}},
			"branch": {short: map[byte][]string{
				'd': {"--delete"}, 'D': {"--delete", "--force"}, 'f': {"--force"},
				'm': {"--move"}, 'M': {"--move", "--force"}, 'c': {"--copy"}, 'C': {"--copy", "--force"},
			}},
			"tag":        {short: map[byte][]string{'d': {"--delete"}, 'f': {"--force"}}},
			"clean":      {short: map[byte][]string{'f': {"--force"}, 'n': {"--dry-run"}, 'i': {"--interactive"}}},
			"checkout":   {short: map[byte][]string{'f': {"--force"}, 'B': {"--force"}}},
			"switch":     {short: map[byte][]string{'c': {"--create"}, 'C': {"--force-create", "--force"}, 'f': {"--force"}}, implies: map[string][]string{"--force-create": {"--force"}, "--discard-changes": {"--force"}}},
			"reset":      {},
			"rebase":     {short: map[byte][]string{'x': {"--exec"}, 'i': {"--interactive"}}},
			"difftool":   {short: map[byte][]string{'x': {"--extcmd"}, 't': {"--tool"}, 'g': {"--gui"}}},
			"mergetool":  {short: map[byte][]string{'t': {"--tool"}, 'g': {"--gui"}}},
			"grep":       {short: map[byte][]string{'O': {"--open-files-in-pager"}}},
			"rm":         {short: forceShort},
			"mv":         {short: forceShort},
			"notes":      {short: forceShort},
			"replace":    {short: map[byte][]string{'f': {"--force"}, 'd': {"--delete"}}},
			"update-ref": {short: map[byte][]string{'d': {"--delete"}}},
			"worktree":   {short: forceShort},
			"submodule":  {short: forceShort},
			"help":       {short: map[byte][]string{'w': {"--web"}}},
		},
	}
}

// syntaxFor returns what Aegis knows of the program named name, or nil.
func syntaxFor(name string) *argSyntax { return argSyntaxes()[name] }

// split reads a command line as the program does: global options (with
// their values), the subcommand, and its arguments.
func (s *argSyntax) split(args []string) (globals []string, sub string, rest []string) {
	i := 0
	for i < len(args) {
		a := args[i]
		if len(a) < 2 || a[0] != '-' {
			break
		}
		globals = append(globals, a)
		i++
		if a == "--" {
			break
		}
		if s.globalValue[a] && i < len(args) {
			globals = append(globals, args[i])
			i++
		}
	}
	if i < len(args) {
		sub, rest = args[i], args[i+1:]
	}
	return globals, sub, rest
}

// syntaxMatches reports whether the pattern tokens match args (argv[1:])
// when both are read with the program's syntax (rules 1-4 above).
func (s *argSyntax) syntaxMatches(pattern, args []string) bool {
	pGlobals, pSub, pRest := s.split(pattern)
	aGlobals, aSub, aRest := s.split(args)
	if pSub != "" && pSub != aSub {
		return false
	}
	ss := s.subs[aSub]

	// The argv's facts: every word as given, and what its options mean.
	facts := make([]string, 0, len(args)+8)
	facts = append(facts, aGlobals...)
	if aSub != "" {
		facts = append(facts, aSub)
	}
	for _, a := range aRest {
		facts = append(facts, a)
		facts = append(facts, ss.meanings(a)...)
	}
	letters := shortFlags(args)

	// The pattern's requirements.
	var reqs []string
	addToken := func(pt string, sub *subSyntax) {
		if isShortSet(pt) && sub != nil {
			for i := 1; i < len(pt); i++ {
				if longs, ok := sub.short[pt[i]]; ok {
					reqs = append(reqs, longs...)
				} else {
					reqs = append(reqs, "-"+pt[i:i+1])
				}
			}
			return
		}
		reqs = append(reqs, pt)
	}
	for _, pt := range pGlobals {
		addToken(pt, nil)
	}
	var psub *subSyntax
	if pSub != "" {
		psub = &ss
	}
	for _, pt := range pRest {
		addToken(pt, psub)
	}
	for _, req := range reqs {
		if isShortSet(req) {
			if letters[req[1]>>6]&(1<<(req[1]&63)) == 0 {
				return false
			}
			continue
		}
		found := false
		for _, f := range facts {
			if tokenMatch(req, f) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// meanings returns what one argument of the subcommand also means: the
// long options of its short flags, the implications of a long option
// (abbreviated or not), and a refspec's force or deletion.
func (ss subSyntax) meanings(a string) []string {
	var out []string
	switch {
	case strings.HasPrefix(a, "--") && len(a) > 2:
		name, _, _ := strings.Cut(a, "=")
		for long, implied := range ss.implies {
			if name == long || (len(name) > 3 && strings.HasPrefix(long, name)) {
				out = append(out, implied...)
			}
		}
	case len(a) > 1 && a[0] == '-':
		for i := 1; i < len(a) && isAlnum(a[i]); i++ {
			out = append(out, ss.short[a[i]]...)
		}
	case ss.refspecs && strings.HasPrefix(a, "+"):
		out = append(out, "--force")
	case ss.refspecs && strings.HasPrefix(a, ":") && len(a) > 1:
		out = append(out, "--delete")
	}
	return out
}

// denyArgsMatch is the deny_args test of one compiled pattern against
// args (argv[1:]): literally (argv.go), or as the program reads them.
func (r *argRule) matches(args []string) bool {
	if argvMatches(r.tokens, args) {
		return true
	}
	if s := syntaxFor(r.cmd.name); s != nil {
		return s.syntaxMatches(r.tokens, args)
	}
	return false
}
