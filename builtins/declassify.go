package builtins

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/aegisdev/aegis/audit"
	"github.com/aegisdev/aegis/builtins/effect"
	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// The declassify module: operator-declared releases of local-only data
// (docs/ifc-model.md "Declassification", policy [declassify]).
//
// A release is a fixed function, computed here in Go, of one local-only
// source the script names (an environment variable, a file, the response
// of a GET), with public parameters (a digest, a needle, keys, a maximum).
// The script chooses which allowed function of which named source, and
// nothing else; it must choose under a public pc, from public values (the
// request headers of status and status_ok excepted: they may carry
// local-only data to a local-only host, as net.* allows, and their
// principals must then allow the release too). The source is read through
// the protocol of every capability (policy decision, leakage budget,
// approval, audit); every principal of what the result is computed from
// must list the kind in [declassify]; the release is charged its bits
// (policy.ReleaseBits) to each of them (SourceGate.Release) and recorded
// (audit.KindDeclassify) before it is computed; the result is public. A
// public source needs no entry and is not charged.

func (h *Host) declassifyMembers() starlark.StringDict {
	m := starlark.StringDict{}
	for _, k := range policy.ReleaseKinds() {
		name := "declassify." + string(k)
		if k == policy.ReleaseStatus || k == policy.ReleaseStatusOK {
			m[string(k)] = starlark.NewLabelAwareBuiltin(name, h.releaseStatus(k))
		} else {
			m[string(k)] = starlark.NewLabelAwareBuiltin(name, h.releaseValue(k))
		}
	}
	return m
}

// releaseParams are the parameters of each value release, after the
// source keywords (env=, path=) and before max=.
var releaseParams = map[policy.ReleaseKind]string{
	policy.ReleaseEqualsSHA256: "digest",
	policy.ReleaseContains:     "needle",
	policy.ReleaseHasKeys:      "keys",
	policy.ReleaseCount:        "substring",
}

// releaseValue builds declassify.is_set(env=|path=),
// declassify.equals_sha256(digest, env=|path=),
// declassify.contains(needle, env=|path=),
// declassify.has_keys(keys, env=|path=) and
// declassify.count(substring, env=|path=, max=1000).
func (h *Host) releaseValue(kind policy.ReleaseKind) starlark.BuiltinFunc {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		// Every argument is unpacked untyped: its type is looked at only
		// after the label checks, so that whether the call stops there or
		// at a type error cannot depend on local-only data (call.exact).
		var param, env, path starlark.Value = starlark.None, starlark.None, starlark.None
		var maxV starlark.Value = starlark.MakeInt(policy.DefaultCountMax)
		var pairs []any
		var names []string
		if p, ok := releaseParams[kind]; ok {
			pairs = append(pairs, p, &param)
			names = append(names, p)
		}
		pairs = append(pairs, "env?", &env, "path?", &path)
		names = append(names, "env", "path")
		if kind == policy.ReleaseCount {
			pairs = append(pairs, "max?", &maxV)
			names = append(names, "max")
		}
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, pairs...); err != nil {
			return nil, err
		}
		if err := h.releaseGuard(thread, b.Name(), names, args, kwargs); err != nil {
			return nil, err
		}
		// Everything is public from here on.
		envName, okE := optString(env)
		pathName, okP := optString(path)
		if !okE || !okP {
			return nil, fmt.Errorf("%s: env and path must be strings", b.Name())
		}
		if (envName == "") == (pathName == "") {
			return nil, fmt.Errorf("%s: give exactly one source: env=\"NAME\" (an environment variable) or path=\"FILE\"", b.Name())
		}
		fn, bits, err := releaseFunc(b.Name(), kind, param, maxV)
		if err != nil {
			return nil, err
		}

		var c *call
		var src labels.Label
		if envName != "" {
			c, src, err = h.beginRelease(thread, b.Name(), kind, bits, policy.EnvRead, envName, labels.Env(envName))
		} else {
			capability := policy.FSRead
			if kind == policy.ReleaseIsSet {
				capability = policy.FSExists
			}
			c, src, err = h.beginRelease(thread, b.Name(), kind, bits, capability, pathName, labels.File(pathName))
		}
		if err != nil {
			return nil, err
		}
		var value []byte
		var present bool
		switch {
		case envName != "":
			var v string
			v, present = h.lookupEnv(envName)
			value = []byte(v)
		case kind == policy.ReleaseIsSet:
			present, err = effect.Exists(h.ctx(), resolved(c.decision, pathName))
			if err != nil {
				return nil, c.failed(err, src, fsErrReason(err))
			}
		default:
			// The bytes read are charged to the run's memory like fs.read's.
			ch := h.newCharger(thread, c.targetLabel|src)
			value, err = effect.ReadFile(h.ctx(), resolved(c.decision, pathName), orDefault(h.MaxReadBytes, DefaultMaxReadBytes), ch.charge)
			ch.stop()
			if err != nil {
				return nil, c.failed(err, src, fsErrReason(err))
			}
			present = true
		}
		if kind == policy.ReleaseIsSet {
			// A variable set to "" is as good as unset; a file exists.
			return starlark.Bool(present && (pathName != "" || len(value) > 0)), nil
		}
		return fn(value), nil
	}
}

// optString reads an optional string argument: None is "".
func optString(v starlark.Value) (string, bool) {
	if v == starlark.None {
		return "", true
	}
	s, ok := starlark.AsString(v)
	return s, ok
}

// releaseFunc type-checks the public parameters of a value release and
// returns the function it computes and the bits it is charged.
func releaseFunc(name string, kind policy.ReleaseKind, param, maxV starlark.Value) (func([]byte) starlark.Value, int64, error) {
	bits := policy.ReleaseBits(kind, 0)
	switch kind {
	case policy.ReleaseIsSet:
		return nil, bits, nil
	case policy.ReleaseEqualsSHA256:
		s, ok := starlark.AsString(param)
		want, err := hex.DecodeString(strings.TrimSpace(s))
		if !ok || err != nil || len(want) != sha256.Size {
			return nil, 0, fmt.Errorf("%s: digest must be a SHA-256 in hex (64 hex digits), as sha256(text) returns", name)
		}
		return func(v []byte) starlark.Value {
			got := sha256.Sum256(v)
			return starlark.Bool(subtle.ConstantTimeCompare(got[:], want) == 1)
		}, bits, nil
	case policy.ReleaseContains:
		needle, ok := starlark.AsString(param)
		if !ok {
			return nil, 0, fmt.Errorf("%s: needle must be a string, not %s", name, param.Type())
		}
		return func(v []byte) starlark.Value { return starlark.Bool(strings.Contains(string(v), needle)) }, bits, nil
	case policy.ReleaseHasKeys:
		keys, err := stringList(param)
		if err != nil {
			return nil, 0, fmt.Errorf("%s: keys %w", name, err)
		}
		return func(v []byte) starlark.Value {
			var obj map[string]json.RawMessage
			if json.Unmarshal(v, &obj) != nil || obj == nil {
				return starlark.False
			}
			for _, k := range keys {
				if _, ok := obj[k]; !ok {
					return starlark.False
				}
			}
			return starlark.True
		}, bits, nil
	case policy.ReleaseCount:
		sub, ok := starlark.AsString(param)
		if !ok {
			return nil, 0, fmt.Errorf("%s: substring must be a string, not %s", name, param.Type())
		}
		var max int64
		if err := starlark.AsInt(maxV, &max); err != nil || max < 0 || max > policy.MaxCountMax {
			return nil, 0, fmt.Errorf("%s: max must be an integer from 0 to %d", name, policy.MaxCountMax)
		}
		return func(v []byte) starlark.Value {
			return starlark.MakeInt64(countLines(string(v), sub, max))
		}, policy.ReleaseBits(kind, max), nil
	}
	return nil, 0, fmt.Errorf("%s: unknown release", name)
}

// countLines counts the lines of s that contain sub, up to max+1 (which
// stands for "more than max"). A final line break ends the last line; it
// does not start an empty one.
func countLines(s, sub string, max int64) int64 {
	var n int64
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return 0
	}
	for _, line := range strings.Split(s, "\n") {
		if strings.Contains(line, sub) {
			if n++; n > max {
				return max + 1
			}
		}
	}
	return n
}

// releaseStatus builds declassify.status_ok(url, headers={}) and
// declassify.status(url, headers={}): a GET whose status alone is released
// (0, or False, when no answer came: a failed connection, a timeout).
func (h *Host) releaseStatus(kind policy.ReleaseKind) starlark.BuiltinFunc {
	return func(thread *starlark.Thread, b *starlark.Builtin, args starlark.Tuple, kwargs []starlark.Tuple) (starlark.Value, error) {
		var urlV, headers starlark.Value = starlark.None, starlark.None
		if err := starlark.UnpackArgs(b.Name(), args, kwargs, "url", &urlV, "headers?", &headers); err != nil {
			return nil, err
		}
		if err := h.releaseGuard(thread, b.Name(), []string{"url", "headers"}, args, kwargs); err != nil {
			return nil, err
		}
		rawURL, ok := starlark.AsString(urlV)
		if !ok {
			return nil, fmt.Errorf("%s: url must be a string, not %s", b.Name(), urlV.Type())
		}
		in := httpInput{method: "GET", cap: policy.HTTPGet, url: rawURL, body: starlark.None, headers: headers,
			headerLabel: argLabel(thread, args, 1, "headers"),
			release:     &releaseReq{name: b.Name(), kind: kind, bits: policy.ReleaseBits(kind, 0)}}
		resp, err := h.http(thread, b.Name(), in)
		if err != nil {
			return nil, err
		}
		if kind == policy.ReleaseStatus {
			return starlark.MakeInt(resp.Status), nil
		}
		return starlark.Bool(resp.Status >= 200 && resp.Status < 400), nil
	}
}

// releaseReq is a release riding on a request (httpInput.release).
type releaseReq struct {
	name string
	kind policy.ReleaseKind
	bits int64
}

// releaseGuard stops a release that local-only data would choose: under a
// labelled pc, with a labelled shape (which source keyword is given), or
// with any labelled argument but the request headers. Whether a value is
// labelled at a public pc does not depend on local-only data, so the
// error is exact: a run stopped here is stopped the same way for every
// value of the data (under a labelled pc it is as labelled as the pc).
func (h *Host) releaseGuard(thread *starlark.Thread, name string, params []string, args starlark.Tuple, kwargs []starlark.Tuple) error {
	var reason string
	var l labels.Label
	switch {
	case thread.PC() != labels.Public:
		l = thread.PC()
		reason = "a release may only be asked for in code that runs whatever local-only data holds " +
			"(what is released must be chosen by public control); ask before the condition"
	case thread.ShapeLabel() != labels.Public:
		l = thread.ShapeLabel()
		reason = "which arguments are given depends on local-only data (a labelled *args or **kwargs); " +
			"a release's source and parameters must be chosen from public values"
	default:
		for i, a := range args {
			if i < len(params) && params[i] == "headers" {
				continue
			}
			if al := thread.ArgLabel(i) | starlark.DeepLabel(a); al != labels.Public {
				l, reason = al, releaseArgReason(params, i)
				break
			}
		}
		if reason != "" {
			break
		}
		for _, kv := range kwargs {
			k, _ := starlark.AsString(kv[0])
			if k == "headers" {
				continue
			}
			if kl := thread.KwargLabel(k) | starlark.DeepLabel(kv[1]); kl != labels.Public {
				l, reason = kl, fmt.Sprintf("the %s argument is computed from local-only data; every argument of a release "+
					"but the request headers must be public (only public values choose what is released)", k)
				break
			}
		}
	}
	if reason == "" {
		return nil
	}
	if h.Audit != nil {
		ev := audit.Event{TaskID: h.TaskID, Kind: audit.KindFlow, Capability: name, Status: audit.Denied,
			Reason: reason, Labels: h.Registry.Names(l)}
		if thread.CallStackDepth() > 1 {
			ev.Position = thread.CallFrame(1).Pos.String()
		}
		if err := h.Audit.Append(ev); err != nil {
			return &AuditError{Err: err}
		}
	}
	return starlark.ExactLabelError(&starlark.FlowError{Sink: name, Reason: reason}, labels.Public)
}

func releaseArgReason(params []string, i int) string {
	what := fmt.Sprintf("argument %d", i+1)
	if i < len(params) {
		what = "the " + params[i] + " argument"
	}
	return what + " is computed from local-only data; every argument of a release but the request headers " +
		"must be public (only public values choose what is released)"
}

// beginRelease runs the protocol of a value release up to its effect: the
// policy decision on the source, the [declassify] entry of every principal
// of its label, the leakage budget (the read, then the release's bits),
// approval and the audit records. fallback names the principal when no
// local-only rule does.
func (h *Host) beginRelease(thread *starlark.Thread, name string, kind policy.ReleaseKind, bits int64,
	capability policy.Capability, target, fallback string) (*call, labels.Label, error) {
	c, err := h.begin(thread, capability, target, labels.Public, labels.Public)
	if err != nil {
		return nil, labels.Public, err
	}
	if err := c.decide(target); err != nil {
		return nil, labels.Public, err
	}
	src := h.sourceLabel(c.decision, fallback)
	// What the result is computed from: the source, and the local-only
	// places resolving its path passed through (call.traverse).
	rl := src | c.targetLabel
	r := &releaseReq{name: name, kind: kind, bits: bits}
	if err := c.permitRelease(r, rl); err != nil {
		return nil, labels.Public, err
	}
	if err := c.admit(src); err != nil {
		return nil, labels.Public, err
	}
	if err := c.confirm(); err != nil {
		return nil, labels.Public, err
	}
	c.in |= src
	if err := c.chargeRelease(r, rl); err != nil {
		return nil, labels.Public, err
	}
	if err := c.allow(); err != nil {
		return nil, labels.Public, err
	}
	return c, src, nil
}

// permitRelease refuses a release of data labelled l unless every principal
// of l lists the kind in [declassify]. Which principals a source carries
// follows from the policy decision on a public target: the refusal is as
// public as the target.
func (c *call) permitRelease(r *releaseReq, l labels.Label) error {
	if l == labels.Public {
		return nil
	}
	d := c.h.Policy.DecideRelease(r.kind, c.h.Registry.Names(l)...)
	if d.Allowed {
		return nil
	}
	derr := c.denial(d)
	derr.Capability = policy.Capability(r.name)
	if err := c.record(audit.Denied, audit.KindCall, "", "[declassify]", c.public(d.Reason)); err != nil {
		return err
	}
	return c.releaseExact(derr)
}

// releaseExact labels a refusal of a release: it depends on which
// principals the source carries, which follows from the policy decision on
// its public target, and on the local-only places whose contents turned that
// decision (a symlink in the zone: policy.Decision.Steered, Decisive). The
// places a resolution merely passed through label the release's outcome
// (call.traverse), not whether it is allowed.
func (c *call) releaseExact(err error) error {
	d := c.decision
	return starlark.ExactLabelError(err, c.h.principals(d.Steered)|c.h.principals(d.Decisive))
}

// chargeRelease charges the release's bits to every principal of l (the
// source's, and for a request those of its headers) and records it; a
// public l costs nothing.
func (c *call) chargeRelease(r *releaseReq, l labels.Label) error {
	if l == labels.Public {
		return nil
	}
	principals := c.h.Registry.Names(l)
	if c.h.Gate != nil {
		if err := c.h.Gate.Release(principals, r.bits); err != nil {
			var be *BudgetError
			if !errors.As(err, &be) {
				return &AuditError{Err: fmt.Errorf("%s: cannot tell whether the leakage budget allows the release: %w", r.name, err)}
			}
			be.Capability = r.name
			if rerr := c.record(audit.Denied, audit.KindCall, be.Key, "[runtime]", be.Error()); rerr != nil {
				return rerr
			}
			return c.releaseExact(be)
		}
	}
	if c.h.Audit == nil {
		return nil
	}
	ev := audit.Event{
		TaskID:     c.h.TaskID,
		Kind:       audit.KindDeclassify,
		Capability: r.name,
		Status:     audit.Allowed,
		Target:     c.target,
		Rule:       string(r.kind),
		Section:    "[declassify]",
		Reason: fmt.Sprintf("released %s of %s (%d bits charged to each principal against [runtime].max_leak_bits)",
			r.kind, c.target, r.bits),
		Labels:   principals,
		Position: c.pos,
		Bits:     r.bits,
	}
	if err := c.h.Audit.Append(ev); err != nil {
		return &AuditError{Err: err}
	}
	return nil
}

// releaseResponse turns the failure of a status request into its released
// value: a redirect is a status; anything else (a refused connection, a
// timeout, a response too large) is no answer, status 0. The failure is
// recorded like that of any request.
func (c *call) releaseResponse(err error) (*effect.HTTPResponse, error) {
	var re *effect.RedirectError
	if errors.As(err, &re) {
		return &effect.HTTPResponse{Status: re.Status}, nil
	}
	if rerr := c.record(audit.Errored, audit.KindCall, c.decision.Rule, c.decision.Section, c.public(failureReason(err, "request failed"))); rerr != nil {
		return nil, rerr
	}
	return &effect.HTTPResponse{Status: 0}, nil
}
