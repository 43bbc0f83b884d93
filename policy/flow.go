package policy

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/aegisdev/aegis/labels"
)

// Flow questions: where may data carrying a local-only label go? The
// local-only zone is the only sink for it:
//
//	fs.write, fs.delete   paths in local_only_read AND write_allow (resp.
//	                      delete_allow), outside [filesystem].deny
//	net.http_*            hosts in local_only_hosts, outside deny_hosts
//	subprocess.exec       programs in local_only_commands
//
// The sinks are the capabilities the table (capabilities.go) marks Sends.
// The others (fs.read, fs.list, fs.exists, env.read) have no outbound
// effect: a labelled argument to them is not a leak (the result is labelled
// by the interpreter). FlowAllowed answers only the flow question; the call
// must still pass Decide.

// FlowAllowed reports whether data labelled local-only may flow to the
// target of capability c.
func (p *Policy) FlowAllowed(c Capability, target ...string) (d Decision) {
	d = Decision{Capability: c, Target: strings.Join(target, " ")}
	defer func() {
		if r := recover(); r != nil {
			d = Decision{Capability: c, Reason: fmt.Sprintf("flow to %s denied: %s: %v", c, internalErrorReason, r)}
		}
	}()
	info := c.info()
	if info == nil {
		d.Reason = fmt.Sprintf("unknown capability %q", c)
		d.Hint = capabilityHint(string(c))
		return d
	}
	if len(target) == 0 {
		d.Reason = fmt.Sprintf("flow to %s denied: no target given", c)
		return d
	}
	if why := info.targetCountProblem(target); why != "" {
		d.Reason = fmt.Sprintf("flow to %s denied: %s", c, why)
		d.Hint = info.Target.hint()
		return d
	}
	if !info.Sends {
		d.Allowed = true
		d.Reason = fmt.Sprintf("%s has no outbound effect: local-only data may be its argument", c)
		return d
	}
	switch info.Section {
	case SectionFilesystem:
		return p.flowFS(d, c, target[0])
	case SectionNetwork:
		return p.flowNet(d, c, target[0])
	case SectionSubprocess:
		return p.flowExec(d, target)
	}
	// A sink whose section has no flow rules here: deny, loudly.
	d.Reason = fmt.Sprintf("flow to %s denied: %s: no flow rules for [%s]", c, internalErrorReason, info.Section)
	return d
}

func (p *Policy) flowFS(d Decision, c Capability, target string) Decision {
	spelled, real, tr, err := p.resolveTargetVia(target, true)
	d.addTraversal(tr)
	if err != nil {
		d.Reason = fmt.Sprintf("flow to %s of %s denied: %v", c, shown(target), err)
		return d
	}
	d.ResolvedPath = real
	if r := p.denyMatch(spelled, real); r != nil {
		d.by(r.entry, r.key)
		d.Reason = fmt.Sprintf("flow to %s of %s denied: the path is in %s %q", c, real, r.key, r.entry.Value)
		return d
	}
	// The zone of c: local_only_read and the list that grants c.
	key := c.info().Grants[0]
	lr := firstPathMatch(p.fsLocal, real)
	var ar *pathRule
	for _, l := range p.allowLists(c) {
		if l != &p.fsLocal && ar == nil {
			ar = firstPathMatch(*l, real)
		}
	}
	if lr == nil || ar == nil {
		d.Reason = fmt.Sprintf("flow of local-only data to %s of %s denied: it is outside the local-only zone (paths in both [filesystem].local_only_read and %s)", c, real, key)
		d.Hint = fmt.Sprintf("to let local-only data be written there, add %q to both [filesystem].local_only_read and [filesystem].%s", p.suggestPattern(real), key)
		return d
	}
	d.Allowed = true
	d.by(lr.entry, lr.key)
	d.addPrincipal(labels.File(lr.entry.Value))
	d.Reason = fmt.Sprintf("flow to %s of %s allowed: inside the local-only zone (%s %q and [filesystem].%s %q)", c, real, lr.key, lr.entry.Value, key, ar.entry.Value)
	return d
}

func (p *Policy) flowNet(d Decision, c Capability, raw string) Decision {
	host, _, err := parseTarget(raw)
	if err != nil {
		d.Reason = fmt.Sprintf("flow to %s of %s denied: %v", c, shown(raw), err)
		return d
	}
	if r := firstHostMatch(p.netDeny, host); r != nil {
		d.by(r.entry, r.key)
		d.Reason = fmt.Sprintf("flow to %s %s denied: the host is in %s %q", c, host, r.key, r.entry.Value)
		return d
	}
	r := firstHostMatch(p.netLocal, host)
	if r == nil {
		d.Reason = fmt.Sprintf("flow of local-only data to %s %s denied: only [network].local_only_hosts may receive it", c, host)
		d.Hint = fmt.Sprintf("if %s is trusted with local-only data, add %q to [network].local_only_hosts", host, host)
		return d
	}
	d.Allowed = true
	d.by(r.entry, r.key)
	d.addPrincipal(labels.Host(r.entry.Value))
	d.Reason = fmt.Sprintf("flow to %s %s allowed by %s %q", c, host, r.key, r.entry.Value)
	return d
}

func (p *Policy) flowExec(d Decision, argv []string) Decision {
	argv0 := argv[0]
	if argv0 == "" || strings.IndexByte(argv0, 0) >= 0 {
		d.Reason = "flow to subprocess.exec denied: no valid program given"
		return d
	}
	base := path.Base(argv0)
	var prog string
	if strings.Contains(argv0, "/") {
		_, real, err := p.resolveTarget(argv0)
		if err != nil {
			d.Reason = fmt.Sprintf("flow to subprocess.exec of %s denied: %v", shown(argv0), err)
			return d
		}
		prog = real
	} else if lp, err := p.lookPath(argv0); err == nil {
		if abs, err := filepath.Abs(lp); err == nil {
			prog, _ = realPath(path.Clean(abs), "")
		}
	}
	if prog == "" {
		d.Reason = fmt.Sprintf("flow to subprocess.exec of %q denied: the program is not found", argv0)
		return d
	}
	realBase := path.Base(prog)
	for i := range p.cmdDeny {
		if p.cmdDeny[i].matchesProgram(base, realBase, prog) {
			d.by(p.cmdDeny[i].entry, p.cmdDeny[i].key)
			d.Reason = fmt.Sprintf("flow to subprocess.exec of %s denied: the program is in %s", argv0, p.cmdDeny[i].key)
			return d
		}
	}
	var mismatch string
	r := p.matchIn(p.cmdLocal, argv0, base, prog, &mismatch)
	if r == nil {
		d.Reason = fmt.Sprintf("flow of local-only data to subprocess.exec of %s denied: only [subprocess].local_only_commands may receive it", argv0)
		d.Hint = fmt.Sprintf("if %s is trusted with local-only data, add %q to [subprocess].local_only_commands", base, base)
		return d
	}
	d.Allowed = true
	d.by(r.entry, r.key)
	d.addPrincipal(labels.Cmd(r.entry.Value))
	d.Reason = fmt.Sprintf("flow to subprocess.exec of %s allowed by %s %q", argv0, r.key, r.entry.Value)
	return d
}

// Principals returns every local-only principal the policy can produce, in
// a stable order: env:, file:, host:, cmd:.
func (p *Policy) Principals() []string {
	var out []string
	add := func(name string) {
		if !contains(out, name) {
			out = append(out, name)
		}
	}
	for _, r := range p.envLocal {
		add(labels.Env(r.entry.Value))
	}
	for _, r := range p.fsLocal {
		add(labels.File(r.entry.Value))
	}
	for _, r := range p.netLocal {
		add(labels.Host(r.entry.Value))
	}
	for _, r := range p.cmdLocal {
		add(labels.Cmd(r.entry.Value))
	}
	return out
}

// NewRegistry returns a label registry with every principal of the policy
// interned, in Principals order, so a run's label bits are the same from
// one run to the next.
func (p *Policy) NewRegistry() *labels.Registry {
	r := labels.NewRegistry()
	for _, name := range p.Principals() {
		r.Principal(name)
	}
	return r
}
