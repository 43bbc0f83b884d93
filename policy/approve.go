package policy

import (
	"fmt"
	"path"
	"strings"
)

// [subprocess].approve_prefixes: commands the operator approves in advance.
//
// With subprocess.exec in requires_approval every command is put to a
// human. An entry "go test" answers that question for the commands whose
// program is what "go" means in allow_commands (a bare name: the go found on
// PATH; a path: that file) and whose next arguments are exactly "test";
// anything may follow. It answers only the approval question: the call is
// judged by every other rule first (deny lists, deny_args, path arguments,
// flows), and a call those deny is denied whatever its prefix.

// approveRule is one compiled approve_prefixes entry.
type approveRule struct {
	cmd   cmdRule
	entry Entry
	words []string // the arguments after the program, matched exactly
}

// validateApprovePrefix checks one entry on its own; compileApprovals checks
// it against the rest of the policy.
func validateApprovePrefix(s string) (msg, hint string) {
	words := strings.Fields(s)
	if len(words) == 0 {
		return "empty prefix", "write the program and the arguments it must start with, e.g. \"go test\""
	}
	if strings.ContainsAny(s, "\"'\\`") {
		return "quoting is not supported", "write the words separated by spaces; each word is matched exactly as one argument"
	}
	if msg, hint := validateCommand(words[0]); msg != "" {
		return "the first word must be a program: " + msg, hint
	}
	for _, w := range words[1:] {
		if strings.ContainsAny(w, "*?[") {
			return fmt.Sprintf("word %q is matched exactly, not as a glob", w),
				"a prefix already covers every argument after it: write \"go test\", not \"go test *\""
		}
	}
	return "", ""
}

// compileApprovals compiles [subprocess].approve_prefixes and reports the
// entries that could never take effect: without subprocess.exec in
// requires_approval nothing is asked (an operator who believed only these
// commands run unasked would be wrong), and a program no allow entry names
// is never run.
func (p *Policy) compileApprovals(entries []Entry, fail func(e Entry, key, msg, hint string)) {
	const key = "[subprocess].approve_prefixes"
	for _, e := range entries {
		words := strings.Fields(e.Value)
		r := approveRule{cmd: p.compileCmd(Entry{Value: words[0], From: e.From}, key), entry: e, words: words[1:]}
		if !p.approval[SubprocessExec] {
			fail(e, key, "has no effect: subprocess.exec is not in requires_approval, so every allowed command already runs without asking",
				"remove approve_prefixes, or keep \"subprocess.exec\" in requires_approval (drop the \"!subprocess.exec\" entry)")
			continue
		}
		if !p.namesAllowedProgram(r.cmd) {
			fail(e, key, fmt.Sprintf("approves nothing: no [subprocess].allow_commands or local_only_commands entry allows %q", words[0]),
				fmt.Sprintf("add %q to [subprocess].allow_commands, or spell the program as its entry does", words[0]))
			continue
		}
		p.approvePrefixes = append(p.approvePrefixes, r)
	}
}

// namesAllowedProgram reports whether an allow or local-only entry names
// the same program as c (the same bare name, or the same file).
func (p *Policy) namesAllowedProgram(c cmdRule) bool {
	for _, rules := range [][]cmdRule{p.cmdAllow, p.cmdLocal} {
		for _, r := range rules {
			if (c.path == "" && r.path == "" && r.name == c.name) || (c.path != "" && r.path == c.path) {
				return true
			}
		}
	}
	return false
}

// preApproval returns the approve_prefixes entry covering argv, whose
// program resolved to prog, or nil.
func (p *Policy) preApproval(argv []string, prog string) *Entry {
	if len(argv) == 0 || prog == "" {
		return nil
	}
	base := path.Base(argv[0])
	for i := range p.approvePrefixes {
		r := &p.approvePrefixes[i]
		if len(argv)-1 < len(r.words) {
			continue
		}
		var mismatch string
		if p.matchIn([]cmdRule{r.cmd}, argv[0], base, prog, &mismatch) == nil {
			continue
		}
		match := true
		for j, w := range r.words {
			if argv[1+j] != w {
				match = false
				break
			}
		}
		if match {
			e := r.entry
			return &e
		}
	}
	return nil
}

// suggestPrefix is the approve_prefixes entry that would cover argv, run by
// the allow entry program: the entry and the words that start its
// arguments, up to two, while they read as a subcommand or a plain option
// ("go test" for go test ./..., "python3 --version"), so that the
// suggestion covers no more than the call's own kind.
func suggestPrefix(program string, argv []string) string {
	if program == "" {
		return ""
	}
	words := []string{program}
	for _, w := range argv[min(1, len(argv)):] {
		if len(words) == 3 || !isPlainWord(w) {
			break
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

// isPlainWord: a subcommand ("test", "run:dev") or an option without a
// value ("--version", "-v").
func isPlainWord(w string) bool {
	w = strings.TrimLeft(w, "-")
	if w == "" || len(w) > 32 {
		return false
	}
	for _, r := range w {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == ':') {
			return false
		}
	}
	return true
}
