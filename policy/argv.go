package policy

import "strings"

// Argument matching for [subprocess.deny_args], and extraction of the paths
// an argument may name. Both are pure functions of strings so they can be
// fuzzed and table-tested without a filesystem.
//
// A deny_args pattern is split on spaces into tokens; it matches an argv
// when every token matches some argument (in any order: "push --force"
// catches "git push origin main --force"). A token matches an argument
// when:
//
//	push, db:drop     the argument equals it
//	+*, alias.*       (a token with * or ?) the argument matches the glob
//	--force           the argument is --force, --force=VALUE, a prefix of
//	                  it that a GNU-style parser would expand (--forc, --fo),
//	                  or the single-dash spelling -force (Go's flag package)
//	-exec, -delete    (single dash, 4+ letters) the argument is -exec,
//	                  -exec=VALUE or --exec
//	-f, -fd, -fdx     (single dash, 1-3 letters or digits) each letter is
//	                  given as a short flag somewhere in argv, alone or
//	                  combined: -fd matches "-f -d", "-df", "-xfd"
//
// The matching over-approximates on purpose: a false denial costs the
// operator one line in the policy; a missed one costs the repository.

// argvMatches reports whether the pattern tokens match args (argv[1:]).
func argvMatches(pattern, args []string) bool {
	var flags [2]uint64
	flagsDone := false
	for _, pt := range pattern {
		if isShortSet(pt) {
			if !flagsDone {
				flags = shortFlags(args)
				flagsDone = true
			}
			for i := 1; i < len(pt); i++ {
				c := pt[i]
				if flags[c>>6]&(1<<(c&63)) == 0 {
					return false
				}
			}
			continue
		}
		found := false
		for _, a := range args {
			if tokenMatch(pt, a) {
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

// isShortSet reports whether a pattern token names a set of short flags.
func isShortSet(pt string) bool {
	if len(pt) < 2 || len(pt) > 4 || pt[0] != '-' || pt[1] == '-' {
		return false
	}
	for i := 1; i < len(pt); i++ {
		if !isAlnum(pt[i]) {
			return false
		}
	}
	return true
}

// shortFlags collects every letter or digit given as a short flag: the
// leading run of letters and digits of each argument starting with one
// dash ("-xzf/tmp/a.tar" gives x, z, f).
func shortFlags(args []string) [2]uint64 {
	var set [2]uint64
	for _, a := range args {
		if len(a) < 2 || a[0] != '-' || a[1] == '-' {
			continue
		}
		for i := 1; i < len(a) && isAlnum(a[i]); i++ {
			c := a[i]
			set[c>>6] |= 1 << (c & 63)
		}
	}
	return set
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// tokenMatch reports whether one argument matches one pattern token (other
// than a short-flag set).
func tokenMatch(pt, a string) bool {
	if pt == a {
		return true
	}
	name, _, _ := strings.Cut(a, "=")
	if hasWild(pt) {
		return wildMatch(pt, a) || wildMatch(pt, name)
	}
	switch {
	case strings.HasPrefix(pt, "--"):
		if len(pt) < 3 {
			return false
		}
		if strings.HasPrefix(name, "--") && len(name) >= 3 && strings.HasPrefix(pt, name) {
			return true
		}
		return len(name) >= 2 && name[0] == '-' && name[1] != '-' && "-"+name == pt
	case strings.HasPrefix(pt, "-"):
		return name == pt || name == "-"+pt
	}
	return false
}

// pathCandidates returns every string an argument may hand to a program as
// a path: the argument itself, the value of --opt=VALUE, -oVALUE and
// key=VALUE forms, the path attached to a cluster of short flags
// (-xf/etc/passwd), each part of a colon-separated list, and the path of a
// file:// URL (other URLs are left whole). The caller
// decides which of them look like paths. Over-approximation is deliberate:
// a candidate that is not really a path can only add a denial.
func pathCandidates(arg string) []string {
	var out []string
	add := func(s string) {
		if s == "" {
			return
		}
		for _, x := range out {
			if x == s {
				return
			}
		}
		out = append(out, s)
	}
	addValue := func(v string) {
		add(v)
		if i := strings.Index(v, "://"); i >= 0 {
			// A URL is not a list of paths; only a file URL names one.
			if strings.EqualFold(v[:i], "file") {
				rest := v[i+3:]
				if j := strings.IndexByte(rest, '/'); j >= 0 {
					add(rest[j:])
				}
			}
			return
		}
		if strings.IndexByte(v, ':') >= 0 {
			for _, part := range strings.Split(v, ":") {
				add(part)
			}
		}
	}
	switch {
	case strings.HasPrefix(arg, "--"):
		if _, v, ok := strings.Cut(arg, "="); ok {
			addValue(v)
		}
	case len(arg) > 1 && arg[0] == '-':
		if _, v, ok := strings.Cut(arg, "="); ok {
			addValue(v)
		}
		if rest := arg[2:]; rest != "" && rest[0] != '=' && (strings.IndexByte(rest, '/') >= 0 || rest[0] == '~' || rest[0] == '.') {
			addValue(rest)
		}
		if i := strings.IndexByte(arg, '/'); i > 1 {
			j := i
			for j > 1 && (arg[j-1] == '.' || arg[j-1] == '~') {
				j--
			}
			addValue(arg[j:])
		}
	default:
		addValue(arg)
		if k, v, ok := strings.Cut(arg, "="); ok && k != "" {
			addValue(v)
		}
	}
	return out
}
