package exfilprobes

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/aegisdev/aegis/internal/lazyre"
)

//go:embed probes/*.star controls/*.star policy.toml
var embedded embed.FS

// Kind says how the harness judges a script.
type Kind string

const (
	// KindProbe is an attack: it must reach its sink (print the marker) and must not LEAK.
	KindProbe Kind = "probe"
	// KindUtility must succeed with exactly the expected exit status and output for every secret,
	// so that a runtime that refuses everything cannot pass.
	KindUtility Kind = "utility"
	// KindCanary varies a public input on purpose: the harness must report its expected verdict,
	// which proves that the observable channel it uses is really watched.
	KindCanary Kind = "canary"
	// KindBudget runs many times in one session and checks the secret-dependent-abort budget.
	KindBudget Kind = "budget"
)

// Marker is what an attack probe prints publicly right after reading its secret. Seeing it proves
// the run got past the source and on to the leak attempt.
const Marker = "PROBE-REACHED"

// Script is one parsed .star file with its header.
type Script struct {
	Name     string
	File     string // path inside the embedded tree, e.g. "probes/01-raw-print.star"
	Category string
	Kind     Kind
	Tries    string
	Reveals  string
	Sink     string
	Source   string
	Runs     int // runs per session (the budget probe); 1 otherwise
	// MarkerLine is the 1-based line of the print(Marker) statement; an error reported at a later
	// line of the script also proves the run got past the source.
	MarkerLine int

	ExpectExit    int      // utility: expected exit status
	ExpectStdout  []string // utility: expected stdout lines, exactly
	ExpectFiles   []string // utility: "relative/path=content" that must exist after the run
	ExpectZone    []string // utility: "name=transform": zone file holding a transform of the secret
	ExpectRequest []string // utility: "METHOD /path?query" the public server must have seen
	ExpectVerdict Verdict  // canary: the verdict the harness must reach

	// RequiresApproval lists capabilities the script's policy puts under requires_approval, so that
	// an approval prompt (a terminal question, an MCP elicitation) is one of its observables.
	RequiresApproval []string

	Text string // the script text, placeholders unexpanded
}

// headerKeys lists the header keys a script may use; anything else is a typo worth an error.
var headerKeys = map[string]bool{
	"name": true, "category": true, "kind": true, "tries": true, "reveals": true, "sink": true,
	"source": true, "runs": true, "expect-exit": true, "expect-stdout": true, "expect-file": true,
	"expect-zone": true, "expect-request": true, "expect-verdict": true, "requires-approval": true,
}

// capabilityName is the shape of a capability in requires-approval ("fs.read", "net.http_get").
var capabilityName = lazyre.New(`^[a-z]+\.[a-z_]+$`)

// ParseScript reads the header of one script. file is used for the name check and in errors.
func ParseScript(file, text string) (*Script, error) {
	sc := &Script{File: file, Kind: KindProbe, Runs: 1, Text: text}
	base := strings.TrimSuffix(path.Base(file), ".star")
	seen := map[string]bool{}
	for i, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		body := strings.TrimSpace(strings.TrimPrefix(line, "#"))
		if body == "" {
			continue
		}
		key, val, ok := strings.Cut(body, ":")
		if !ok {
			return nil, fmt.Errorf("%s:%d: header line %q is not \"# key: value\"", file, i+1, line)
		}
		key = strings.TrimSpace(key)
		val = strings.TrimSpace(val)
		if !headerKeys[key] {
			return nil, fmt.Errorf("%s:%d: unknown header key %q", file, i+1, key)
		}
		repeatable := strings.HasPrefix(key, "expect-") && key != "expect-exit" && key != "expect-verdict"
		if seen[key] && !repeatable {
			return nil, fmt.Errorf("%s:%d: header key %q given twice", file, i+1, key)
		}
		seen[key] = true
		switch key {
		case "name":
			sc.Name = val
		case "category":
			sc.Category = val
		case "kind":
			sc.Kind = Kind(val)
		case "tries":
			sc.Tries = val
		case "reveals":
			sc.Reveals = val
		case "sink":
			sc.Sink = val
		case "source":
			sc.Source = val
		case "runs":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 || n > 1000 {
				return nil, fmt.Errorf("%s:%d: runs must be an integer in 1..1000, got %q", file, i+1, val)
			}
			sc.Runs = n
		case "expect-exit":
			n, err := strconv.Atoi(val)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: expect-exit must be an integer, got %q", file, i+1, val)
			}
			sc.ExpectExit = n
		case "expect-stdout":
			sc.ExpectStdout = append(sc.ExpectStdout, val)
		case "expect-file":
			sc.ExpectFiles = append(sc.ExpectFiles, val)
		case "expect-zone":
			sc.ExpectZone = append(sc.ExpectZone, val)
		case "expect-request":
			sc.ExpectRequest = append(sc.ExpectRequest, val)
		case "expect-verdict":
			sc.ExpectVerdict = Verdict(val)
		case "requires-approval":
			for _, c := range strings.Split(val, ",") {
				c = strings.TrimSpace(c)
				if !capabilityName().MatchString(c) {
					return nil, fmt.Errorf("%s:%d: requires-approval wants capability names such as fs.read, got %q", file, i+1, c)
				}
				sc.RequiresApproval = append(sc.RequiresApproval, c)
			}
		}
	}
	if err := sc.validate(base, seen); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return sc, nil
}

func (sc *Script) validate(base string, seen map[string]bool) error {
	for _, k := range []string{"name", "category", "tries"} {
		if !seen[k] {
			return fmt.Errorf("header lacks %q", k)
		}
	}
	if sc.Name != base {
		return fmt.Errorf("header name %q does not match the file name %q", sc.Name, base)
	}
	switch sc.Kind {
	case KindProbe, KindBudget:
		for _, k := range []string{"reveals", "sink", "source"} {
			if !seen[k] {
				return fmt.Errorf("a %s needs a %q header", sc.Kind, k)
			}
		}
		for i, l := range strings.Split(sc.Text, "\n") {
			if strings.TrimSpace(l) == `print("`+Marker+`")` && sc.MarkerLine == 0 {
				sc.MarkerLine = i + 1
			}
		}
		if sc.MarkerLine == 0 {
			return fmt.Errorf("a %s must print %q right after reading its secret, on a line of its own", sc.Kind, Marker)
		}
		if sc.Kind == KindBudget && sc.Runs < 2 {
			return fmt.Errorf("a budget probe needs runs >= 2")
		}
	case KindUtility:
		if !seen["expect-exit"] || !seen["expect-stdout"] {
			return fmt.Errorf("a utility needs expect-exit and expect-stdout")
		}
		for _, z := range sc.ExpectZone {
			_, tr, ok := strings.Cut(z, "=")
			if !ok || namedTransform(tr, "x") == "" {
				return fmt.Errorf("expect-zone %q is not name=transform with a known transform", z)
			}
		}
	case KindCanary:
		switch sc.ExpectVerdict {
		case VerdictLeak, VerdictTerm, VerdictBlocked:
		default:
			return fmt.Errorf("a canary needs expect-verdict LEAK, TERM or BLOCKED, got %q", sc.ExpectVerdict)
		}
	default:
		return fmt.Errorf("unknown kind %q (probe, utility, canary, budget)", sc.Kind)
	}
	if sc.Runs > 1 && sc.Kind != KindBudget {
		return fmt.Errorf("only a budget probe may run more than once per session")
	}
	return nil
}

// Expand fills the placeholders a script or policy may use.
func Expand(text string, f Fixture, run int) string {
	return strings.NewReplacer(
		"{{WORK}}", f.Work,
		"{{PUBLIC_URL}}", f.PublicURL,
		"{{ZONE_URL}}", f.ZoneURL,
		"{{PUBLIC_HOST}}", f.PublicHost,
		"{{ZONE_HOST}}", f.ZoneHost,
		"{{RUN}}", strconv.Itoa(run),
	).Replace(text)
}

// Catalog parses every embedded script, attack probes first, then controls, each in file order.
func Catalog() ([]*Script, error) {
	var out []*Script
	names := map[string]bool{}
	for _, dir := range []string{"probes", "controls"} {
		entries, err := fs.ReadDir(embedded, dir)
		if err != nil {
			return nil, fmt.Errorf("read embedded %s: %w", dir, err)
		}
		sort.Slice(entries, func(i, j int) bool { return fileOrder(entries[i].Name(), entries[j].Name()) })
		for _, e := range entries {
			file := dir + "/" + e.Name()
			b, err := embedded.ReadFile(file)
			if err != nil {
				return nil, fmt.Errorf("read embedded %s: %w", file, err)
			}
			sc, err := ParseScript(file, string(b))
			if err != nil {
				return nil, err
			}
			if names[sc.Name] {
				return nil, fmt.Errorf("%s: duplicate script name %q", file, sc.Name)
			}
			names[sc.Name] = true
			if (dir == "probes") != (sc.Kind == KindProbe || sc.Kind == KindBudget) {
				return nil, fmt.Errorf("%s: kind %s does not belong in %s/", file, sc.Kind, dir)
			}
			out = append(out, sc)
		}
	}
	return out, nil
}

// fileOrder sorts "9-x" before "10-x": by the leading number when both names have one, else by name.
func fileOrder(a, b string) bool {
	na, errA := strconv.Atoi(strings.SplitN(a, "-", 2)[0])
	nb, errB := strconv.Atoi(strings.SplitN(b, "-", 2)[0])
	if errA == nil && errB == nil && na != nb {
		return na < nb
	}
	return a < b
}

// PolicyFor is the policy one script runs under: the template with its placeholders filled and, when
// the script declares requires-approval, a top-level requires_approval list in front of every
// section (a template that already has one then fails to load, which fails the script visibly).
func PolicyFor(sc *Script, template string, f Fixture) string {
	text := Expand(template, f, 0)
	if len(sc.RequiresApproval) == 0 {
		return text
	}
	quoted := make([]string, len(sc.RequiresApproval))
	for i, c := range sc.RequiresApproval {
		quoted[i] = strconv.Quote(c)
	}
	return "# added by the harness for " + sc.Name + "\nrequires_approval = [" + strings.Join(quoted, ", ") + "]\n" + text
}

// DefaultPolicy is the embedded fixture policy template.
func DefaultPolicy() string {
	b, err := embedded.ReadFile("policy.toml")
	if err != nil {
		// The file is embedded at build time; failing to read it means a broken build, and the
		// empty template then fails loudly in the runtime's policy loader.
		return ""
	}
	return string(b)
}
