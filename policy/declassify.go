package policy

import (
	"fmt"
	"math/bits"
	"strconv"
	"strings"

	"github.com/aegisdev/aegis/internal/suggest"
	"github.com/aegisdev/aegis/labels"
)

// Declassification ([declassify], docs/ifc-model.md "Declassification").
//
// A local-only source never reaches public output; but some questions about
// one have short public answers that an operator may want scripts to get:
// is the key set, does it match this digest, how many lines of the log hold
// ERROR, does the vault still accept the token. [declassify] names, per
// local-only principal as the runtime names it ("env:STRIPE_KEY",
// "file:vault/**", "host:vault.internal", "cmd:pass"), the releases scripts
// may ask for. Each release is a fixed function computed by Aegis (the
// script chooses only which allowed function of which named source, and its
// public parameters), and is charged the bits its result can carry to the
// principal's leakage budget.

// ReleaseKind names one function of a local-only source that [declassify]
// may let scripts learn.
type ReleaseKind string

// The release kinds.
const (
	ReleaseIsSet        ReleaseKind = "is_set"
	ReleaseEqualsSHA256 ReleaseKind = "equals_sha256"
	ReleaseContains     ReleaseKind = "contains"
	ReleaseHasKeys      ReleaseKind = "has_keys"
	ReleaseCount        ReleaseKind = "count"
	ReleaseStatusOK     ReleaseKind = "status_ok"
	ReleaseStatus       ReleaseKind = "status"
)

// releaseKinds is the closed set, in display order, with what each tells.
var releaseKinds = [...]struct {
	kind ReleaseKind
	what string
	// hostCmd: the kind concerns a request, so it may apply to a host's
	// responses and to any data sent in its headers (a command's output
	// included); the others read an environment variable or a file.
	hostCmd bool
}{
	{ReleaseIsSet, "whether the variable is set to a non-empty value, or the file exists", false},
	{ReleaseEqualsSHA256, "whether the SHA-256 of the value equals a digest the script gives", false},
	{ReleaseContains, "whether the value contains a string the script gives", false},
	{ReleaseHasKeys, "whether the value is a JSON object holding every key the script names", false},
	{ReleaseCount, "how many lines of the value contain a string the script gives, up to a maximum", false},
	{ReleaseStatusOK, "whether a GET to the URL answered 200-399", true},
	{ReleaseStatus, "the HTTP status of a GET to the URL (0: no answer)", true},
}

// ReleaseKinds returns every release kind, in display order.
func ReleaseKinds() []ReleaseKind {
	out := make([]ReleaseKind, len(releaseKinds))
	for i, k := range releaseKinds {
		out[i] = k.kind
	}
	return out
}

// ReleaseKindNames returns the release kinds as strings, in display order
// (for messages and help).
func ReleaseKindNames() []string {
	out := make([]string, len(releaseKinds))
	for i, k := range releaseKinds {
		out[i] = string(k.kind)
	}
	return out
}

// Known reports whether k is a release kind.
func (k ReleaseKind) Known() bool {
	for _, r := range releaseKinds {
		if r.kind == k {
			return true
		}
	}
	return false
}

// Describe says, in a few words, what a release of kind k tells.
func (k ReleaseKind) Describe() string {
	for _, r := range releaseKinds {
		if r.kind == k {
			return r.what
		}
	}
	return ""
}

// appliesTo reports whether a release of kind k can concern a principal of
// the given kind (labels.KindEnv, ...). Variables and files can be the
// source of every release, and can be sent in the headers of a request; a
// host's responses and a command's output reach a release only through a
// request (status_ok, status).
func (k ReleaseKind) appliesTo(principalKind string) bool {
	switch principalKind {
	case labels.KindEnv, labels.KindFile:
		return k.Known()
	case labels.KindHost, labels.KindCmd:
		for _, r := range releaseKinds {
			if r.kind == k {
				return r.hostCmd
			}
		}
	}
	return false
}

// Count bounds: count(substring, max=DefaultCountMax) reports 0..max, or
// max+1 for "more than max".
const (
	DefaultCountMax = 1000
	MaxCountMax     = 1 << 20
)

// StatusBits is what a status release is charged. Go's HTTP client returns
// any three-digit status line as it is, so a local-only host can answer
// anything from 000 to 999 (0 also stands for no answer): 1000 values,
// under 2¹⁰.
const StatusBits = 10

// ReleaseBits is the number of bits a release of kind k can carry, which is
// what it is charged: ⌈log₂ of the number of results it can have⌉. For
// count, max is its public maximum (the result is 0..max+1).
func ReleaseBits(k ReleaseKind, max int64) int64 {
	switch k {
	case ReleaseCount:
		if max < 0 {
			max = 0
		}
		// ⌈log₂(max+2)⌉ = the bit length of max+1.
		return int64(bits.Len64(uint64(max) + 1))
	case ReleaseStatus:
		return StatusBits
	}
	return 1
}

// bitsText renders the charge of a kind for messages.
func bitsText(k ReleaseKind) string {
	switch k {
	case ReleaseCount:
		return fmt.Sprintf("⌈log₂(max+2)⌉ bits (%d with the default max=%d)", ReleaseBits(k, DefaultCountMax), DefaultCountMax)
	case ReleaseStatus:
		return strconv.Itoa(StatusBits) + " bits"
	}
	return "1 bit"
}

// releaseSpec is one [declassify] key: a principal and the kinds it allows.
type releaseSpec struct {
	Principal string // as written; "!p" removes an inherited key
	From      Source
	Kinds     []Entry
}

// releaseKey is the section name a [declassify] key is reported under.
func releaseKey(principal string) string {
	return "[declassify]." + strconv.Quote(principal)
}

// validateReleasePrincipal checks the form of a [declassify] key: kind:name
// with a kind a runtime principal can have.
func validateReleasePrincipal(s string) (msg, hint string) {
	kind, name, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		return "a [declassify] key is a local-only principal written as the runtime names it",
			`write "env:NAME", "file:<local_only_read pattern>", "host:<local_only_hosts entry>" or "cmd:<local_only_commands entry>"`
	}
	switch kind {
	case labels.KindEnv, labels.KindFile, labels.KindHost, labels.KindCmd:
	default:
		h := `the kinds are env, file, host and cmd, e.g. "env:STRIPE_KEY"`
		if m := suggest.DidYouMean(kind, []string{labels.KindEnv, labels.KindFile, labels.KindHost, labels.KindCmd}); m != "" {
			h = m + "; " + h
		}
		return fmt.Sprintf("unknown principal kind %q", kind), h
	}
	if strings.IndexByte(s, 0) >= 0 {
		return "contains a NUL byte", "remove it"
	}
	return "", ""
}

// validateReleaseFor checks one release kind listed for a principal of
// kind pkind (env, file, host, cmd).
func validateReleaseFor(pkind string) func(string) (msg, hint string) {
	return func(s string) (string, string) {
		if msg, hint := validateEntry(kindRelease, s); msg != "" {
			return msg, hint
		}
		if k := ReleaseKind(strings.TrimPrefix(s, "!")); !k.appliesTo(pkind) {
			why := map[string]string{
				labels.KindHost: "a host's responses reach a release only as the status of a request to it",
				labels.KindCmd:  "a command's output reaches a release only in the headers of a request",
			}[pkind]
			return fmt.Sprintf("cannot concern a %s principal: %s", pkind, why),
				fmt.Sprintf("a %s principal may allow %s or %s", pkind, ReleaseStatusOK, ReleaseStatus)
		}
		return "", ""
	}
}

// declassify decodes the [declassify] table.
func (d *decoder) declassify(s *spec, t map[string]any) {
	parent := []string{"declassify"}
	for _, key := range d.sortedKeys(t, parent) {
		p := append(append([]string{}, parent...), key)
		name := strings.TrimPrefix(key, "!")
		qkey := releaseKey(key)
		if msg, hint := validateReleasePrincipal(name); msg != "" {
			d.fail(p, qkey, fmt.Sprintf("%q: %s", key, msg), hint)
			continue
		}
		arr, ok := t[key].([]any)
		if !ok {
			d.fail(p, qkey, fmt.Sprintf("must be an array of release kinds, not %s", tomlType(t[key])),
				fmt.Sprintf(`write %q = ["is_set"]; kinds: %s`, key, strings.Join(ReleaseKindNames(), ", ")))
			continue
		}
		pkind, _, _ := strings.Cut(name, ":")
		rs := releaseSpec{Principal: key, From: d.src(p...), Kinds: d.entries(arr, p, qkey, validateReleaseFor(pkind))}
		if strings.HasPrefix(key, "!") && len(rs.Kinds) > 0 {
			d.fail(p, qkey, "a negated key removes the inherited entry for "+name+" and takes no kinds", fmt.Sprintf(`write "%s" = []`, key))
			continue
		}
		s.Declassify = append(s.Declassify, rs)
	}
}

func releaseKindHint(s string) string {
	h := "release kinds: " + strings.Join(ReleaseKindNames(), ", ")
	if m := suggest.DidYouMean(s, ReleaseKindNames()); m != "" {
		h = m + "; " + h
	}
	return h
}

// mergeDeclassify lays the file's [declassify] over the inherited one, key
// by key: a key's kinds merge like any list (added, or removed with
// "!kind"); a key written "!principal" drops the inherited key.
func mergeDeclassify(base, over []releaseSpec, file string, probs *problems) []releaseSpec {
	out := make([]releaseSpec, len(base))
	copy(out, base)
	find := func(p string) int {
		for i, r := range out {
			if r.Principal == p {
				return i
			}
		}
		return -1
	}
	for _, r := range over {
		key := releaseKey(r.Principal)
		if target, neg := strings.CutPrefix(r.Principal, "!"); neg {
			i := find(target)
			if i < 0 {
				probs.add(Problem{File: file, Line: r.From.Line, Key: key,
					Msg: fmt.Sprintf("%q negates nothing: no inherited [declassify] key %q", r.Principal, target)})
				continue
			}
			out = append(out[:i], out[i+1:]...)
			continue
		}
		if i := find(r.Principal); i >= 0 {
			out[i] = releaseSpec{Principal: r.Principal, From: out[i].From,
				Kinds: mergeList(kindRelease, key, out[i].Kinds, r.Kinds, file, probs)}
			continue
		}
		out = append(out, releaseSpec{Principal: r.Principal, From: r.From,
			Kinds: mergeList(kindRelease, key, nil, r.Kinds, file, probs)})
	}
	return out
}

// releaseRule is one compiled [declassify] key.
type releaseRule struct {
	principal string
	from      Source
	kinds     []Entry
}

func (r *releaseRule) allows(k ReleaseKind) *Entry {
	for i := range r.kinds {
		if r.kinds[i].Value == string(k) {
			return &r.kinds[i]
		}
	}
	return nil
}

// compileDeclassify checks every [declassify] key against the local-only
// entries of the merged policy: a key naming no local-only principal would
// silently allow nothing.
func (p *Policy) compileDeclassify(s *spec, probs *problems) {
	principals := p.Principals()
	for _, r := range s.Declassify {
		if !contains(principals, r.Principal) {
			probs.add(Problem{File: fileOf(r.From), Line: r.From.Line, Key: releaseKey(r.Principal),
				Msg:  fmt.Sprintf("%q names no local-only entry of the policy", r.Principal),
				Hint: principalHint(r.Principal, principals)})
			continue
		}
		p.releases = append(p.releases, releaseRule{principal: r.Principal, from: r.From, kinds: r.Kinds})
	}
}

// fileOf names where a source is, for a Problem.
func fileOf(s Source) string {
	if s.Preset != "" {
		return "preset " + s.Preset
	}
	return s.File
}

func principalHint(s string, principals []string) string {
	h := "a key is a local-only principal as the runtime names it: env:<a local_only_vars entry>, " +
		"file:<a local_only_read pattern as written>, host:<a local_only_hosts entry>, cmd:<a local_only_commands entry>"
	if len(principals) > 0 {
		h += "; this policy's: " + strings.Join(principals, ", ")
	} else {
		h += "; this policy declares none"
	}
	if m := suggest.DidYouMean(s, principals); m != "" {
		h = m + "; " + h
	}
	return h
}

func (p *Policy) releaseRule(principal string) *releaseRule {
	for i := range p.releases {
		if p.releases[i].principal == principal {
			return &p.releases[i]
		}
	}
	return nil
}

// DecideRelease answers whether a script may learn a release of kind k of
// data carrying the given local-only principals: every one of them must
// list k in [declassify]. The decision's Bits is what the release is
// charged (for count, with the default maximum). A principal the policy
// does not declare local-only is refused (a release of public data needs no
// decision: the builtins do not ask).
func (p *Policy) DecideRelease(k ReleaseKind, principals ...string) Decision {
	capName := Capability("declassify." + string(k))
	d := Decision{Capability: capName, Target: strings.Join(principals, " ")}
	if !k.Known() {
		d.Reason = fmt.Sprintf("unknown release kind %q", k)
		d.Hint = releaseKindHint(string(k))
		return d
	}
	if len(principals) == 0 {
		d.Reason = fmt.Sprintf("%s: no principal given", capName)
		d.Hint = `name a local-only principal as the runtime does, e.g. env:STRIPE_KEY`
		return d
	}
	d.Bits = ReleaseBits(k, DefaultCountMax)
	known := p.Principals()
	var missing []string
	var first *releaseRule
	for _, pr := range principals {
		if !contains(known, pr) {
			d.Reason = fmt.Sprintf("%s of %s denied: %s is not a local-only principal of this policy", capName, pr, pr)
			d.Hint = principalHint(pr, known)
			return d
		}
		kind, _, _ := strings.Cut(pr, ":")
		if !k.appliesTo(kind) {
			d.Reason = fmt.Sprintf("%s of %s denied: a %s principal reaches a release only through a request (status_ok, status)", capName, pr, kind)
			d.Hint = fmt.Sprintf("no [declassify] entry can allow it; ask for %s or %s of a URL instead", ReleaseStatusOK, ReleaseStatus)
			return d
		}
		r := p.releaseRule(pr)
		if r == nil || r.allows(k) == nil {
			missing = append(missing, pr)
			continue
		}
		if first == nil {
			first = r
			d.by(*r.allows(k), releaseKey(pr))
		}
	}
	if len(missing) > 0 {
		d.Rule, d.Section, d.Source = "", "", ""
		d.Reason = fmt.Sprintf("%s of %s denied: [declassify] does not list %s for %s", capName,
			strings.Join(principals, ", "), k, strings.Join(missing, ", "))
		adds := make([]string, len(missing))
		for i, m := range missing {
			adds[i] = fmt.Sprintf("%q to %s", string(k), releaseKey(m))
		}
		d.Hint = fmt.Sprintf("to allow it, add %s in the policy (each release then charges %s to the principal's "+
			"leakage budget, [runtime].max_leak_bits)", strings.Join(adds, " and "), bitsText(k))
		return d
	}
	// The result is public: LocalOnly stays false.
	d.Allowed = true
	d.Reason = fmt.Sprintf("%s of %s allowed by %s: it tells %s, and each release charges %s to %s against [runtime].max_leak_bits = %d",
		capName, strings.Join(principals, ", "), d.Section, k.Describe(), bitsText(k), strings.Join(principals, ", "), p.runtime.MaxLeakBits)
	return d
}

// Releases returns the [declassify] table: per local-only principal, the
// kinds it allows.
func (p *Policy) Releases() map[string][]ReleaseKind {
	out := make(map[string][]ReleaseKind, len(p.releases))
	for _, r := range p.releases {
		for _, e := range r.kinds {
			out[r.principal] = append(out[r.principal], ReleaseKind(e.Value))
		}
	}
	return out
}
