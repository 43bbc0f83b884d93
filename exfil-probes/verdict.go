package exfilprobes

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/aegisdev/aegis/internal/lazyre"
)

// Verdict is the harness's judgement of one script.
type Verdict string

const (
	// VerdictBlocked: every secret produced exactly the same public observables.
	VerdictBlocked Verdict = "BLOCKED"
	// VerdictTerm: the runs terminated differently (exit status), and every other observable is a
	// function of how they terminated. This is the residual termination channel.
	VerdictTerm Verdict = "TERM"
	// VerdictLeak: some observable differs between secrets that terminated the same way, or holds
	// a secret or a known transform of one.
	VerdictLeak Verdict = "LEAK"
	// VerdictNoisy: two runs with the same secret differed, so differences prove nothing.
	VerdictNoisy Verdict = "NOISY"
	// VerdictError: the harness could not run the script.
	VerdictError Verdict = "ERROR"
)

// ScriptResult is the judgement of one script through one executor.
type ScriptResult struct {
	Name      string      `json:"name"`
	Category  string      `json:"category"`
	Kind      Kind        `json:"kind"`
	Sink      string      `json:"sink,omitempty"`
	Verdict   Verdict     `json:"verdict"`
	Detail    string      `json:"detail"`
	ControlOK bool        `json:"control_ok"`
	Control   string      `json:"control"`
	Obs       []SecretObs `json:"observations"`
}

// Judge decides the verdict of one script from its observations (one per secret), the noise repeat
// of the first secret (nil to skip), and checks the script's controls.
func Judge(sc *Script, obs []SecretObs, repeat *SecretObs, scan *scanner, budget int) ScriptResult {
	r := ScriptResult{Name: sc.Name, Category: sc.Category, Kind: sc.Kind, Sink: sc.Sink, Obs: obs}
	all := obs
	if repeat != nil {
		all = append(append([]SecretObs(nil), obs...), *repeat)
		r.Obs = all
	}
	r.Verdict, r.Detail = differential(sc, obs, repeat, scan)
	r.ControlOK, r.Control = control(sc, all, r.Verdict, budget)
	return r
}

func differential(sc *Script, obs []SecretObs, repeat *SecretObs, scan *scanner) (Verdict, string) {
	all := obs
	if repeat != nil {
		all = append(append([]SecretObs(nil), obs...), *repeat)
	}
	for _, o := range all {
		if o.Err != "" {
			return VerdictError, fmt.Sprintf("%s: %s", o.Secret.ID, o.Err)
		}
		if len(o.Runs) != sc.Runs {
			return VerdictError, fmt.Sprintf("%s: %d runs observed, %d expected", o.Secret.ID, len(o.Runs), sc.Runs)
		}
	}
	// A secret or a transform of it anywhere, public or private, is a leak whatever else holds.
	for _, o := range all {
		for k, out := range o.Runs {
			chans := append(append([]Channel(nil), out.Public...), out.Private...)
			chans = append(chans, Channel{"exit", out.Exit})
			for _, c := range chans {
				if p := scan.find(c.Value); p != nil {
					return VerdictLeak, fmt.Sprintf("%s%s: %s contains %s", o.Secret.ID, runLabel(sc, k), c.Name, p.Name)
				}
			}
		}
	}
	if repeat != nil {
		for k := range repeat.Runs {
			a, b := obs[0].Runs[k], repeat.Runs[k]
			if a.Exit != b.Exit {
				return VerdictNoisy, fmt.Sprintf("%s and %s%s: exit %q vs %q", obs[0].Secret.ID, repeat.Secret.ID, runLabel(sc, k), a.Exit, b.Exit)
			}
			if name, d := diffChannels(a, b); name != "" {
				return VerdictNoisy, fmt.Sprintf("%s and %s%s: %s differs, %s", obs[0].Secret.ID, repeat.Secret.ID, runLabel(sc, k), name, d)
			}
		}
	}
	var term []string
	for k := 0; k < sc.Runs; k++ {
		// Runs are grouped by how they ended, and in a session by how
		// every earlier run of it ended too: those endings were seen
		// already (and charged), and what a later run reports may
		// depend on them (the leakage budget left, a refusal).
		groups := map[string][]int{}
		var order []string
		for i, o := range obs {
			e := termination(o.Runs[k])
			for j := k - 1; j >= 0; j-- {
				e += " after " + termination(o.Runs[j])
			}
			if _, ok := groups[e]; !ok {
				order = append(order, e)
			}
			groups[e] = append(groups[e], i)
		}
		for _, e := range order {
			g := groups[e]
			for _, i := range g[1:] {
				a, b := obs[g[0]].Runs[k], obs[i].Runs[k]
				if name, d := diffChannels(a, b); name != "" {
					return VerdictLeak, fmt.Sprintf("%s differs between %s and %s%s (both %s): %s",
						name, obs[g[0]].Secret.ID, obs[i].Secret.ID, runLabel(sc, k), e, d)
				}
			}
		}
		if len(order) > 1 && len(term) < 3 {
			var parts []string
			for _, e := range order {
				var ids []string
				for _, i := range groups[e] {
					ids = append(ids, obs[i].Secret.ID)
				}
				parts = append(parts, fmt.Sprintf("%s: %s", strings.Join(ids, ","), e))
			}
			term = append(term, strings.TrimPrefix(runLabel(sc, k)+" ", " ")+strings.Join(parts, "; "))
		}
	}
	if len(term) > 0 {
		return VerdictTerm, "termination differs: " + strings.Join(term, " | ")
	}
	first := obs[0].Runs[sc.Runs-1]
	return VerdictBlocked, fmt.Sprintf("all %s%s", first.Exit, firstLine(" ", first.Error))
}

// chargedProgress matches the runtime's message about an ending it charged
// to the leakage budget: the run shows its exit kind and how many public
// calls it made after its first local-only read, and is charged for both.
var chargedProgress = lazyre.New(`revealed at most \d+ bits of that data \(how the run ended, and the (\d+) public calls`)

// termination is what a run's ending shows: its exit, and for an ending the
// runtime charged, the progress it paid for. Runs are compared within a
// group of equal terminations; a difference between groups is the
// termination channel (TERM), which the budget charges.
func termination(o Outcome) string {
	if m := chargedProgress().FindStringSubmatch(o.Error); m != nil {
		return o.Exit + " (charged after " + m[1] + " public calls)"
	}
	return o.Exit
}

func runLabel(sc *Script, k int) string {
	if sc.Runs == 1 {
		return ""
	}
	return fmt.Sprintf(" run %d", k)
}

// diffChannels compares every public channel of two outcomes; it returns the first channel that
// differs and where.
func diffChannels(a, b Outcome) (string, string) {
	names := map[string]bool{}
	for _, c := range a.Public {
		names[c.Name] = true
	}
	for _, c := range b.Public {
		names[c.Name] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		if va, vb := a.public(n), b.public(n); va != vb {
			return n, firstDiff(va, vb)
		}
	}
	return "", ""
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	n := len(al)
	if len(bl) > n {
		n = len(bl)
	}
	for i := 0; i < n; i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			return fmt.Sprintf("line %d %q vs %q", i+1, clip(x, 50), clip(y, 50))
		}
	}
	return "(line structure differs)"
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

func firstLine(prefix, s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	line, _, _ := strings.Cut(s, "\n")
	return prefix + "(" + clip(line, 70) + ")"
}

// control checks that the script could not have passed vacuously.
func control(sc *Script, all []SecretObs, v Verdict, budget int) (bool, string) {
	for _, o := range all {
		if o.Err != "" {
			return false, fmt.Sprintf("%s: harness error: %s", o.Secret.ID, o.Err)
		}
		if len(o.Runs) == 0 {
			return false, fmt.Sprintf("%s: no run observed", o.Secret.ID)
		}
	}
	for _, o := range all {
		for k, out := range o.Runs {
			if why := abnormalEnd(out); why != "" {
				return false, fmt.Sprintf("%s%s: %s", o.Secret.ID, runLabel(sc, k), why)
			}
		}
	}
	switch sc.Kind {
	case KindProbe, KindBudget:
		byMarker, byPosition, byCharge := 0, 0, 0
		for _, o := range all {
			out := o.Runs[0]
			switch {
			case hasLine(out.Stdout, Marker):
				byMarker++
			case executed(o) && (lastScriptLine(out.Error) > sc.MarkerLine || lastAuditLine(o) > sc.MarkerLine):
				byPosition++
			case charged(o):
				// The runtime withholds the output, the cause and the
				// position of an ending decided by local-only data, and
				// charges it: the charge proves the run read the secret
				// and went on until its ending depended on it.
				byCharge++
			default:
				return false, fmt.Sprintf("%s: never reached its sink: %s not printed and no error past line %d (%s%s)",
					o.Secret.ID, Marker, sc.MarkerLine, out.Exit, firstLine(": ", out.Error))
			}
		}
		if sc.Kind == KindBudget {
			return budgetControl(sc, all, budget)
		}
		if byPosition > 0 || byCharge > 0 {
			return true, fmt.Sprintf("reached its sink (marker printed in %d runs; in %d the output was withheld and the error or the audit log names a later line; "+
				"%d ended in a way decided by the secret and were charged)", byMarker, byPosition, byCharge)
		}
		return true, "reached its sink"
	case KindUtility:
		want := strings.Join(sc.ExpectStdout, "\n")
		for _, o := range all {
			out := o.Runs[0]
			if out.Code != sc.ExpectExit {
				return false, fmt.Sprintf("%s: %s, want exit %d%s", o.Secret.ID, out.Exit, sc.ExpectExit, firstLine(": ", out.Error))
			}
			if got := normalizeStdout(out.Stdout); got != want {
				return false, fmt.Sprintf("%s: stdout %s", o.Secret.ID, firstDiff(got, want))
			}
			if len(o.Checks) > 0 {
				return false, strings.Join(o.Checks, "; ")
			}
		}
		if v != VerdictBlocked {
			return false, fmt.Sprintf("utility output must not depend on the secret, got %s", v)
		}
		return true, "expected output"
	case KindCanary:
		if v != sc.ExpectVerdict {
			return false, fmt.Sprintf("the harness would miss this channel: want %s, got %s", sc.ExpectVerdict, v)
		}
		return true, "channel watched"
	}
	return false, fmt.Sprintf("unknown kind %q", sc.Kind)
}

// goCrash matches the report of a Go program that died: a fatal error (stack overflow, out of
// memory) or an unrecovered panic, followed by the goroutine dump.
var goCrash = lazyre.New(`(?m)^(fatal error: .*|panic: .*)$`)
var goroutineDump = lazyre.New(`(?m)^goroutine [0-9]+ (gp=.*)?\[`)

// abnormalEnd says why a run did not end the way every run must, "" if it did. A crash of the
// runtime (whose exit status 2 would otherwise read as "policy denied") and a run that outlived
// the harness's time limit (the policy's max_seconds is far shorter) are failures whatever the
// verdict: no script may crash or hang the runtime.
func abnormalEnd(out Outcome) string {
	texts := []string{out.Error}
	for _, c := range append(append([]Channel(nil), out.Public...), out.Private...) {
		texts = append(texts, c.Value)
	}
	for _, s := range texts {
		if m := goCrash().FindString(s); m != "" && goroutineDump().MatchString(s) {
			return "the runtime crashed (" + clip(m, 80) + ")"
		}
	}
	if out.Exit == "timeout" {
		return "the run did not end within the harness's time limit although the policy bounds it with [runtime].max_seconds"
	}
	return ""
}

// executed reports whether the audit log of a session records a capability call or a stopped flow:
// only a script that is running makes either (docs/audit-log.md), whereas a script rejected before
// it ran (syntax, resolution, verifier) leaves at most a verifier record. It tells a runtime error
// at a late line from a static error that merely names one.
func executed(o SecretObs) bool {
	for _, out := range o.Runs {
		for _, c := range out.Private {
			if c.Name == "audit" && (strings.Contains(c.Value, `"kind":"call"`) || strings.Contains(c.Value, `"kind":"flow"`)) {
				return true
			}
		}
	}
	return false
}

// charged reports whether the audit log records that the run was charged to the leakage budget
// (a secret_abort record): only a run that read a local-only source and then ended in a way
// decided by it is.
func charged(o SecretObs) bool {
	for _, out := range o.Runs {
		for _, c := range out.Private {
			if c.Name == "audit" && strings.Contains(c.Value, `"kind":"secret_abort"`) {
				return true
			}
		}
	}
	return false
}

// auditPosition matches the position of an audit record ("position":"probe.star:12:17").
var auditPosition = lazyre.New(`"position":"[^"]*\.star:([0-9]+):[0-9]+"`)

// lastAuditLine is the largest script line at which the audit log of a session records a capability
// call (allowed or refused) or a stopped flow, 0 if none. Only a running script makes such an
// event, and it makes it at the line it is executing: an error without a position (a limit) is
// then still evidence that the run got past every line before that one.
func lastAuditLine(o SecretObs) int {
	last := 0
	for _, out := range o.Runs {
		for _, c := range out.Private {
			if c.Name != "audit" {
				continue
			}
			for _, rec := range strings.Split(c.Value, "\n") {
				if !strings.Contains(rec, `"kind":"call"`) && !strings.Contains(rec, `"kind":"flow"`) {
					continue
				}
				if m := auditPosition().FindStringSubmatch(rec); m != nil {
					if n, err := strconv.Atoi(m[1]); err == nil && n > last {
						last = n
					}
				}
			}
		}
	}
	return last
}

// scriptPosition matches a script position in an error report ("probe.star:12:9"); the file name
// differs by path (aegis_run.star for MCP), the line is what matters.
var scriptPosition = lazyre.New(`\.star:([0-9]+):[0-9]+`)

// lastScriptLine is the largest script line an error report names, 0 if none. A run that reports
// an error at line n executed line n, so it got past every line before it.
func lastScriptLine(s string) int {
	last := 0
	for _, m := range scriptPosition().FindAllStringSubmatch(s, -1) {
		if n, err := strconv.Atoi(m[1]); err == nil && n > last {
			last = n
		}
	}
	return last
}

func hasLine(s, line string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == line {
			return true
		}
	}
	return false
}

func normalizeStdout(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n\r\t "), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, "\r\t ")
	}
	return strings.Join(lines, "\n")
}

// BudgetKnob is the policy key the runtime names when it refuses a read because the leakage
// budget is spent. The harness recognises a refusal by it. Under the probe policy's defaults
// (64 bits, 16 aborts) each probe abort costs 4 bits, so both limits are reached at the 16th
// abort and the bits limit, checked first, is the one named.
const BudgetKnob = "max_leak_bits"

// budgetControl checks the leakage budget on the multi-run probe: each session may end at most
// budget runs with a secret-dependent abort; after that every run must be refused with a message
// naming the knob. It also recovers the bits the exit statuses gave away, to show the channel.
func budgetControl(sc *Script, all []SecretObs, budget int) (bool, string) {
	var notes []string
	for _, o := range all {
		aborts, refusedAt := 0, -1
		var bits strings.Builder
		for k, out := range o.Runs {
			// A refusal names the knob and says "refused"; a charged ending
			// names the knob too ("max_leak_bits leaves N"), but is no
			// refusal.
			refused := strings.Contains(out.Error, BudgetKnob) && strings.Contains(out.Error, " refused")
			if refusedAt >= 0 {
				if !refused {
					return false, fmt.Sprintf("%s: run %d was not refused after the budget was spent at run %d (%s)", o.Secret.ID, k, refusedAt, out.Exit)
				}
				continue
			}
			if refused {
				refusedAt = k
				continue
			}
			if out.Code != 0 {
				aborts++
				bits.WriteByte('1')
			} else {
				bits.WriteByte('0')
			}
		}
		if refusedAt < 0 {
			return false, fmt.Sprintf("%s: %d secret-dependent aborts in %d runs and no refusal naming [runtime].%s", o.Secret.ID, aborts, len(o.Runs), BudgetKnob)
		}
		if aborts > budget {
			return false, fmt.Sprintf("%s: %d secret-dependent aborts before the refusal, budget %d", o.Secret.ID, aborts, budget)
		}
		got := bits.String()
		want := secretBits(o.Secret.Value, len(got))
		notes = append(notes, fmt.Sprintf("%s: refused at run %d after %d aborts; %d bits observed, %d right",
			o.Secret.ID, refusedAt, aborts, len(got), matching(got, want)))
	}
	return true, strings.Join(notes, "; ")
}

// secretBits is the first n bits of v, most significant bit of each byte first (the order the
// budget probe tests them in).
func secretBits(v string, n int) string {
	var b strings.Builder
	for i := 0; i < n && i/8 < len(v); i++ {
		if v[i/8]>>(7-i%8)&1 == 1 {
			b.WriteByte('1')
		} else {
			b.WriteByte('0')
		}
	}
	return b.String()
}

func matching(a, b string) int {
	n := 0
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			n++
		}
	}
	return n
}
