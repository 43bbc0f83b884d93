package policy

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/aegisdev/aegis/internal/suggest"
)

// Option adjusts how a policy is loaded. Options exist so tests and the
// runner can replace the parts of the outside world a decision consults (DNS,
// PATH, $HOME) and say where the audit log lives.
type Option func(*options)

type options struct {
	root     string
	auditLog string
	resolver Resolver
	lookPath func(string) (string, error)
	home     string
	homeSet  bool
}

// WithRoot anchors relative patterns and relative targets at dir instead of
// the directory holding the policy file.
func WithRoot(dir string) Option { return func(o *options) { o.root = dir } }

// WithAuditLog names the audit log the loader must keep out of the agent's
// reach (it refuses a policy that lets scripts read, write or delete it). The
// default is .aegis/audit.jsonl under the root.
func WithAuditLog(path string) Option { return func(o *options) { o.auditLog = path } }

// WithResolver replaces the DNS resolver used by network decisions. Tests
// and the HTTP layer's own fakes use it so no decision touches the network.
func WithResolver(r Resolver) Option { return func(o *options) { o.resolver = r } }

// WithLookPath replaces exec.LookPath for resolving a bare argv[0].
func WithLookPath(f func(string) (string, error)) Option {
	return func(o *options) { o.lookPath = f }
}

// WithHome sets the directory "~" expands to (default: the user's home; when
// there is none, patterns starting with "~" are a load error).
func WithHome(dir string) Option { return func(o *options) { o.home, o.homeSet = dir, true } }

// DefaultAuditLog is where the audit log lives, relative to the policy root,
// when the runner is not told otherwise.
const DefaultAuditLog = ".aegis/audit.jsonl"

// Load reads, validates and compiles the policy file at path. Relative
// patterns are anchored at the file's directory. Every problem is reported
// in one *LoadError naming file, line and key.
func Load(path string, opts ...Option) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy file: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("locate policy file %s: %w", path, err)
	}
	o := buildOptions(opts)
	if o.root == "" {
		o.root = filepath.Dir(abs)
	}
	return build(path, abs, data, o)
}

// LoadBytes compiles a policy held in memory. name is used in messages; root
// anchors relative patterns. With no file on disk there is no self-write
// guard, but the audit-log guard still runs.
func LoadBytes(name string, data []byte, root string, opts ...Option) (*Policy, error) {
	o := buildOptions(opts)
	if o.root == "" {
		o.root = root
	}
	return build(name, "", data, o)
}

// Preset returns a built-in policy (see Presets) anchored at root. With no
// policy file, Aegis falls back to Preset("secure-defaults", cwd).
func Preset(name, root string, opts ...Option) (*Policy, error) {
	if _, ok := presetSpec(name); !ok {
		return nil, &LoadError{Problems: []Problem{{
			File: "preset " + name, Msg: fmt.Sprintf("unknown preset %q", name),
			Hint: presetHint(name),
		}}}
	}
	data := []byte(fmt.Sprintf("inherits = %q\n", name))
	o := buildOptions(opts)
	if o.root == "" {
		o.root = root
	}
	p, err := build("preset "+name, "", data, o)
	if err != nil {
		return nil, err
	}
	p.name = name
	return p, nil
}

func buildOptions(opts []Option) options {
	var o options
	for _, f := range opts {
		f(&o)
	}
	return o
}

func presetHint(name string) string {
	h := "known presets: " + strings.Join(Presets(), ", ") + `; write inherits = "none" for no preset`
	if s := suggest.DidYouMean(name, Presets()); s != "" {
		h = s + "; " + h
	}
	return h
}

// build is the pipeline shared by every loader: parse, inherit, compile,
// guard.
func build(name, policyPath string, data []byte, o options) (*Policy, error) {
	var probs problems
	layer := parseLayer(name, data, &probs)
	if layer == nil {
		return nil, probs.err()
	}
	base := newSpec()
	if layer.Inherits.Set && layer.Inherits.Value != NoPreset {
		if b, ok := presetSpec(layer.Inherits.Value); ok {
			base = b
		} else {
			probs.add(Problem{File: name, Line: layer.Inherits.From.Line, Key: "inherits",
				Msg: fmt.Sprintf("unknown preset %q", layer.Inherits.Value), Hint: presetHint(layer.Inherits.Value)})
		}
	}
	merged := merge(base, layer, name, &probs)
	if err := probs.err(); err != nil {
		return nil, err
	}
	p, err := compile(merged, policyPath, o, &probs)
	if err != nil {
		return nil, err
	}
	if err := probs.err(); err != nil {
		return nil, err
	}
	p.guard(name, &probs)
	if err := probs.err(); err != nil {
		return nil, err
	}
	return p, nil
}

// decoder walks the generic TOML tree against the schema, recording every
// problem instead of stopping at the first.
type decoder struct {
	file  string
	ix    *lineIndex
	probs *problems
}

func (d *decoder) src(path ...string) Source {
	return Source{File: d.file, Line: d.ix.line(path...)}
}

func (d *decoder) fail(path []string, key, msg, hint string) {
	d.probs.add(Problem{File: d.file, Line: d.ix.line(path...), Key: key, Msg: msg, Hint: hint})
}

// parseLayer decodes one file into a spec. It returns nil only when the TOML
// itself does not parse.
func parseLayer(name string, data []byte, probs *problems) *spec {
	raw := map[string]any{}
	md, err := toml.Decode(string(data), &raw)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			probs.add(Problem{File: name, Line: pe.Position.Line, Key: pe.LastKey, Msg: "TOML syntax error: " + pe.Message})
		} else {
			probs.add(Problem{File: name, Msg: "TOML syntax error: " + err.Error()})
		}
		return nil
	}
	d := &decoder{file: name, ix: newLineIndex(data, md.Keys()), probs: probs}
	s := newSpec()
	for _, k := range d.sortedKeys(raw, nil) {
		v := raw[k]
		p := []string{k}
		switch k {
		case "version":
			if str, ok := d.str(v, p, "version", `version = "1"`); ok {
				d.checkVersion(str, p)
				s.Version.set(str, d.src(p...))
			}
		case "inherits":
			if str, ok := d.str(v, p, "inherits", `inherits = "secure-defaults"`); ok {
				s.Inherits.set(str, d.src(p...))
			}
		case "name":
			if str, ok := d.str(v, p, "name", `name = "my-project"`); ok {
				s.Name.set(str, d.src(p...))
			}
		case "description":
			if str, ok := d.str(v, p, "description", `description = "..."`); ok {
				s.Description.set(str, d.src(p...))
			}
		case "filesystem", "network", "environment", "subprocess", "runtime":
			t, ok := d.table(v, p, "["+k+"]")
			if !ok {
				continue
			}
			d.section(s, k, t)
		case "tools":
			if t, ok := d.table(v, p, "[tools]"); ok {
				d.tools(s, t)
			}
		case "declassify":
			if t, ok := d.table(v, p, "[declassify]"); ok {
				d.declassify(s, t)
			}
		default:
			if lk, ok := findListKey("", k); ok {
				*lk.get(s) = d.list(v, p, lk)
				continue
			}
			d.unknown(p, "", k)
		}
	}
	return s
}

// sortedKeys returns t's keys in document order (by line, then name), so
// problems and entries come out in the order the operator wrote them.
func (d *decoder) sortedKeys(t map[string]any, parent []string) []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	line := func(k string) int { return d.ix.line(append(append([]string{}, parent...), k)...) }
	sort.Slice(keys, func(i, j int) bool {
		li, lj := line(keys[i]), line(keys[j])
		if li != lj {
			return li < lj
		}
		return keys[i] < keys[j]
	})
	return keys
}

func (d *decoder) section(s *spec, name string, t map[string]any) {
	for _, k := range d.sortedKeys(t, []string{name}) {
		v := t[k]
		p := []string{name, k}
		if lk, ok := findListKey(name, k); ok {
			*lk.get(s) = d.list(v, p, lk)
			continue
		}
		switch name + "." + k {
		case "network.timeout_seconds":
			if n, ok := d.positiveInt(v, p, qualify(name, k), 3600); ok {
				s.Net.TimeoutSeconds.set(n, d.src(p...))
			}
		case "subprocess.sandbox":
			if str, ok := d.str(v, p, qualify(name, k), `sandbox = "auto"`); ok {
				if !contains(sandboxModes[:], str) {
					d.fail(p, qualify(name, k), fmt.Sprintf("unknown sandbox %q", str),
						"one of "+strings.Join(sandboxModes[:], ", "))
					continue
				}
				s.Sub.Sandbox.set(str, d.src(p...))
			}
		case "subprocess.network":
			if str, ok := d.str(v, p, qualify(name, k), `network = "none"`); ok {
				if !contains(networkModes[:], str) {
					d.fail(p, qualify(name, k), fmt.Sprintf("unknown network stance %q", str),
						"one of "+strings.Join(networkModes[:], ", ")+` ("none": no network; "host": the host's, unfiltered)`)
					continue
				}
				s.Sub.Network.set(str, d.src(p...))
			}
		case "subprocess.deny_args":
			if at, ok := d.table(v, p, "[subprocess.deny_args]"); ok {
				d.denyArgs(s, at)
			}
		case "runtime.max_secret_dependent_aborts":
			if n, ok := d.nonNegativeInt(v, p, qualify(name, k), 1<<53); ok {
				s.Runtime.SecretAborts.set(n, d.src(p...))
			}
		case "runtime.max_leak_bits":
			if n, ok := d.nonNegativeInt(v, p, qualify(name, k), 1<<53); ok {
				s.Runtime.LeakBits.set(n, d.src(p...))
			}
		case "runtime.transcript":
			if str, ok := d.str(v, p, qualify(name, k), `transcript = "vault/transcript.jsonl"`); ok {
				if err := checkTargetString(str); err != nil {
					d.fail(p, qualify(name, k), fmt.Sprintf("%q: %v", str, err), "write a path inside the local-only zone")
					continue
				}
				s.Runtime.Transcript.set(str, d.src(p...))
			}
		case "runtime.max_calls_per_capability":
			if at, ok := d.table(v, p, "[runtime].max_calls_per_capability"); ok {
				d.perCap(s, at)
			}
		default:
			if name == "runtime" {
				if i := indexOf(runtimeKeys[:], k); i >= 0 {
					if n, ok := d.positiveInt(v, p, qualify(name, k), 1<<53); ok {
						s.Runtime.Limits[i].set(n, d.src(p...))
					}
					continue
				}
			}
			d.unknown(p, name, k)
		}
	}
}

// unknown reports a key the schema does not have, with the most useful
// hint: a key that belongs in another table (the classic TOML trap of a
// top-level key written after a [section] header), or the nearest spelling.
func (d *decoder) unknown(path []string, section, key string) {
	where := "at the top level"
	if section != "" {
		where = "in [" + section + "]"
	}
	msg := fmt.Sprintf("unknown key %q %s", key, where)
	hint := suggest.DidYouMean(key, sectionKeys[section])
	if hint == "" {
		for other, keys := range sectionKeys {
			if other == section || !contains(keys, key) {
				continue
			}
			if other == "" {
				hint = fmt.Sprintf("%s is a top-level key: move it above the first [section] header", key)
			} else if other != "tools.*" {
				hint = fmt.Sprintf("%s belongs in [%s]", key, other)
			}
			break
		}
	}
	if hint == "" {
		hint = "valid keys here: " + strings.Join(sectionKeys[section], ", ")
	}
	d.fail(path, key, msg, hint)
}

func (d *decoder) str(v any, path []string, key, example string) (string, bool) {
	s, ok := v.(string)
	if !ok {
		d.fail(path, key, fmt.Sprintf("must be a string, not %s", tomlType(v)), "write it as "+example)
	}
	return s, ok
}

func (d *decoder) table(v any, path []string, key string) (map[string]any, bool) {
	t, ok := v.(map[string]any)
	if !ok {
		d.fail(path, key, fmt.Sprintf("must be a table, not %s", tomlType(v)), "write it as a "+key+" header followed by its keys")
	}
	return t, ok
}

func (d *decoder) positiveInt(v any, path []string, key string, maxV int64) (int64, bool) {
	n, ok := v.(int64)
	if !ok {
		d.fail(path, key, fmt.Sprintf("must be an integer, not %s", tomlType(v)), "write a whole number without quotes, e.g. 30")
		return 0, false
	}
	if n <= 0 || n > maxV {
		d.fail(path, key, fmt.Sprintf("must be between 1 and %d, got %d", maxV, n), "remove the key to use the default")
		return 0, false
	}
	return n, true
}

// nonNegativeInt is positiveInt for the one key where 0 means something.
func (d *decoder) nonNegativeInt(v any, path []string, key string, maxV int64) (int64, bool) {
	n, ok := v.(int64)
	if !ok {
		d.fail(path, key, fmt.Sprintf("must be an integer, not %s", tomlType(v)), "write a whole number without quotes, e.g. 16")
		return 0, false
	}
	if n < 0 || n > maxV {
		d.fail(path, key, fmt.Sprintf("must be between 0 and %d, got %d", maxV, n), "remove the key to use the default")
		return 0, false
	}
	return n, true
}

func (d *decoder) list(v any, path []string, lk listKey) []Entry {
	arr, ok := v.([]any)
	if !ok {
		d.fail(path, lk.qualified(), fmt.Sprintf("must be an array of strings, not %s", tomlType(v)),
			fmt.Sprintf(`write it as %s = ["..."]`, lk.name))
		return nil
	}
	return d.entries(arr, path, lk.qualified(), func(s string) (string, string) { return validateEntry(lk.kind, s) })
}

// entries decodes the elements of the array at path, each a string that
// validate accepts (it returns a message and a hint for one it does not).
// An element that is no string, or that validate rejects, is a problem
// under key, on the element's own line, and is left out.
func (d *decoder) entries(arr []any, path []string, key string, validate func(string) (msg, hint string)) []Entry {
	out := make([]Entry, 0, len(arr))
	for i, el := range arr {
		s, ok := el.(string)
		if !ok {
			d.fail(path, key, fmt.Sprintf("element %d must be a string, not %s", i+1, tomlType(el)), "quote it")
			continue
		}
		src := Source{File: d.file, Line: d.ix.elementLine(s, path...)}
		if msg, hint := validate(s); msg != "" {
			d.probs.add(Problem{File: d.file, Line: src.Line, Key: key, Msg: fmt.Sprintf("%q: %s", s, msg), Hint: hint})
			continue
		}
		out = append(out, Entry{Value: s, From: src})
	}
	return out
}

func (d *decoder) denyArgs(s *spec, t map[string]any) {
	parent := []string{"subprocess", "deny_args"}
	for _, cmd := range d.sortedKeys(t, parent) {
		p := append(append([]string{}, parent...), cmd)
		key := "[subprocess.deny_args]." + cmd
		arr, ok := t[cmd].([]any)
		if !ok {
			d.fail(p, key, fmt.Sprintf("must be an array of strings, not %s", tomlType(t[cmd])), cmd+` = ["push --force"]`)
			continue
		}
		name := strings.TrimPrefix(cmd, "!")
		if msg, hint := validateCommand(name); msg != "" {
			d.fail(p, key, msg, hint)
			continue
		}
		al := argList{Command: cmd, From: d.src(p...), Patterns: d.entries(arr, p, key, validateArgPattern)}
		if strings.HasPrefix(cmd, "!") && len(al.Patterns) > 0 {
			d.fail(p, key, "a negated key removes the inherited entry for "+name+" and takes no patterns", fmt.Sprintf(`write "%s" = []`, cmd))
			continue
		}
		s.Sub.DenyArgs = append(s.Sub.DenyArgs, al)
	}
}

func (d *decoder) perCap(s *spec, t map[string]any) {
	parent := []string{"runtime", "max_calls_per_capability"}
	s.Runtime.PerCapAt = d.src(parent...)
	for _, k := range d.sortedKeys(t, parent) {
		p := append(append([]string{}, parent...), k)
		key := "[runtime].max_calls_per_capability." + k
		c := Capability(k)
		if !c.Known() {
			d.fail(p, key, fmt.Sprintf("unknown capability %q", k), capabilityHint(k))
			continue
		}
		if n, ok := d.positiveInt(t[k], p, key, 1<<53); ok {
			s.Runtime.PerCap = append(s.Runtime.PerCap, capLimit{Capability: c, Value: n, From: d.src(p...)})
		}
	}
}

func (d *decoder) tools(s *spec, t map[string]any) {
	for _, name := range d.sortedKeys(t, []string{"tools"}) {
		p := []string{"tools", name}
		key := "[tools." + name + "]"
		ts := toolSpec{Name: name, From: d.src(p...)}
		capKey := listKey{section: "tools." + name, name: "capabilities", kind: kindCapability}
		switch v := t[name].(type) {
		case []any:
			ts.Capabilities = d.list(v, p, capKey)
		case map[string]any:
			for _, k := range d.sortedKeys(v, p) {
				kp := append(append([]string{}, p...), k)
				switch k {
				case "capabilities":
					ts.Capabilities = d.list(v[k], kp, capKey)
				case "description":
					if str, ok := d.str(v[k], kp, key+".description", `description = "..."`); ok {
						ts.Description.set(str, d.src(kp...))
					}
				case "backend_url":
					if str, ok := d.str(v[k], kp, key+".backend_url", `backend_url = "https://api.example.com/search"`); ok {
						if u, err := url.Parse(str); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
							d.fail(kp, key+".backend_url", fmt.Sprintf("%q is not an http(s) URL", str), "write a full URL such as https://api.example.com/search")
							continue
						}
						ts.BackendURL.set(str, d.src(kp...))
					}
				case "backend_method":
					if str, ok := d.str(v[k], kp, key+".backend_method", `backend_method = "GET"`); ok {
						m := strings.ToUpper(str)
						if _, ok := HTTPCapability(m); !ok {
							d.fail(kp, key+".backend_method", fmt.Sprintf("unknown method %q", str), "one of "+strings.Join(HTTPMethods(), ", "))
							continue
						}
						ts.BackendMethod.set(m, d.src(kp...))
					}
				default:
					d.unknown(kp, "tools.*", k)
				}
			}
		default:
			d.fail(p, key, fmt.Sprintf("must be an array of capabilities or a table, not %s", tomlType(v)),
				name+` = ["fs.read"] or a [tools.`+name+`] table with capabilities = [...]`)
			continue
		}
		s.Tools = append(s.Tools, ts)
	}
}

// checkVersion enforces the format's major version: a file written for a
// future incompatible format must not be half-understood.
func (d *decoder) checkVersion(v string, path []string) {
	t := strings.TrimPrefix(strings.TrimSpace(v), "v")
	major, _, _ := strings.Cut(t, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		d.fail(path, "version", fmt.Sprintf("%q is not a version number", v), `write version = "1"`)
		return
	}
	if n != FormatMajor {
		d.fail(path, "version", fmt.Sprintf("this Aegis reads policy format %d.x; the file says %q", FormatMajor, v),
			"upgrade Aegis, or rewrite the policy for format 1 and set version = \"1\"")
	}
}

// FormatMajor is the policy file format major version this package reads.
const FormatMajor = 1

func findListKey(section, name string) (listKey, bool) {
	for _, lk := range listKeys {
		if lk.section == section && lk.name == name {
			return lk, true
		}
	}
	return listKey{}, false
}

func capabilityHint(s string) string {
	h := "known capabilities: " + strings.Join(CapabilityNames(), ", ")
	if m := suggest.DidYouMean(s, CapabilityNames()); m != "" {
		h = m + "; " + h
	}
	return h
}

func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case time.Time:
		return "a date-time"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	case []map[string]any:
		return "an array of tables"
	}
	return fmt.Sprintf("a %T", v)
}

func contains(list []string, s string) bool { return indexOf(list, s) >= 0 }

func indexOf(list []string, s string) int {
	for i, x := range list {
		if x == s {
			return i
		}
	}
	return -1
}
