package policy

import (
	"fmt"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"strings"
)

// compile turns the merged layer into matchers.
func compile(s *spec, policyPath string, o options, probs *problems) (*Policy, error) {
	root, err := canonicalDir(o.root)
	if err != nil {
		return nil, fmt.Errorf("policy root %q: %w", o.root, err)
	}
	p := &Policy{
		root:     root,
		spec:     s,
		resolver: o.resolver,
		lookPath: o.lookPath,
		netAllow: make(map[Capability][]hostRule),
		approval: make(map[Capability]bool),
		tools:    make(map[string]ToolRecord),
		sandbox:  SandboxAuto,
		network:  NetworkNone,
	}
	if policyPath != "" {
		if real, err := realPath(policyPath, ""); err == nil {
			p.path = real
		} else {
			p.path = policyPath
		}
	}
	if s.Name.Set {
		p.name = s.Name.Value
	}
	if p.resolver == nil {
		p.resolver = defaultResolver()
	}
	if p.lookPath == nil {
		p.lookPath = defaultLookPath
	}
	home := o.home
	if !o.homeSet {
		home = userHome()
	}
	if home != "" {
		if h, err := realPath(filepath.Clean(home), ""); err == nil && path.IsAbs(h) {
			p.home = h
		}
	}
	audit := o.auditLog
	if audit == "" {
		audit = DefaultAuditLog
	}
	if !filepath.IsAbs(audit) {
		audit = filepath.Join(root, audit)
	}
	p.auditLog, _ = realPath(filepath.Clean(audit), "")
	if p.auditLog == "" {
		p.auditLog = filepath.Clean(audit)
	}

	fail := func(e Entry, key, msg, hint string) {
		probs.add(Problem{File: e.From.File, Line: e.From.Line, Key: key, Msg: fmt.Sprintf("%q: %s", e.Value, msg), Hint: hint})
		if e.From.Preset != "" {
			probs.list[len(probs.list)-1].File = "preset " + e.From.Preset
		}
	}
	canon := newCanonicalizer(p.root, p.home)
	paths := func(entries []Entry, key string, deny bool) []pathRule {
		out := make([]pathRule, 0, len(entries))
		for _, e := range entries {
			if deny && p.home == "" && (e.Value == "~" || strings.HasPrefix(e.Value, "~/")) {
				// Without a home directory there is nothing for it to protect.
				continue
			}
			r, err := compilePathRule(e, key, p.root, p.home, deny, canon)
			if err != nil {
				fail(e, key, err.Error(), "write an absolute path instead")
				continue
			}
			out = append(out, r)
		}
		return out
	}
	p.fsDeny = paths(s.FS.Deny, "[filesystem].deny", true)
	p.fsRead = paths(s.FS.ReadAllow, "[filesystem].read_allow", false)
	p.fsLocal = paths(s.FS.LocalOnlyRead, "[filesystem].local_only_read", false)
	p.fsWrite = paths(s.FS.WriteAllow, "[filesystem].write_allow", false)
	p.fsDelete = paths(s.FS.DeleteAllow, "[filesystem].delete_allow", false)
	p.fsAllow = p.fsAllowLists()

	hosts := func(entries []Entry, key string) []hostRule {
		out := make([]hostRule, 0, len(entries))
		for _, e := range entries {
			n, _, _ := normalizeHostPattern(e.Value)
			out = append(out, hostRule{entry: e, key: key, pattern: n})
		}
		return out
	}
	for _, c := range capabilities {
		if c.Section != SectionNetwork {
			continue
		}
		for _, g := range c.Grants {
			// local_only_hosts is netLocal, asked for every verb.
			if lk, ok := findListKey(c.Section, g); ok && g != "local_only_hosts" {
				p.netAllow[c.Name] = append(p.netAllow[c.Name], hosts(*lk.get(s), lk.qualified())...)
			}
		}
	}
	p.netLocal = hosts(s.Net.LocalOnlyHosts, "[network].local_only_hosts")
	p.netDeny = hosts(s.Net.DenyHosts, "[network].deny_hosts")
	for _, e := range s.Net.DenyIPs {
		pfx, err := parseIPEntry(e.Value)
		if err != nil {
			fail(e, "[network].deny_ips", err.Error(), "write an address or a CIDR")
			continue
		}
		p.denyIPs = append(p.denyIPs, ipRule{entry: e, prefix: pfx})
	}
	p.netTimeoutSeconds = DefaultNetTimeoutSeconds
	if s.Net.TimeoutSeconds.Set {
		p.netTimeoutSeconds = s.Net.TimeoutSeconds.Value
	}

	names := func(entries []Entry, key string) []nameRule {
		out := make([]nameRule, 0, len(entries))
		for _, e := range entries {
			out = append(out, nameRule{entry: e, key: key, glob: hasWild(e.Value)})
		}
		return out
	}
	p.envAllow = names(s.Env.AllowVars, "[environment].allow_vars")
	p.envLocal = names(s.Env.LocalOnlyVars, "[environment].local_only_vars")
	p.envDeny = names(s.Env.DenyVars, "[environment].deny_vars")

	cmds := func(entries []Entry, key string) []cmdRule {
		out := make([]cmdRule, 0, len(entries))
		for _, e := range entries {
			out = append(out, p.compileCmd(e, key))
		}
		return out
	}
	p.cmdAllow = cmds(s.Sub.AllowCommands, "[subprocess].allow_commands")
	p.cmdLocal = cmds(s.Sub.LocalOnlyCommands, "[subprocess].local_only_commands")
	p.cmdDeny = cmds(s.Sub.DenyCommands, "[subprocess].deny_commands")
	for _, al := range s.Sub.DenyArgs {
		c := p.compileCmd(Entry{Value: al.Command, From: al.From}, "[subprocess.deny_args]")
		for _, pat := range al.Patterns {
			p.denyArgs = append(p.denyArgs, argRule{cmd: c, entry: pat, tokens: strings.Fields(pat.Value)})
		}
	}
	if s.Sub.Sandbox.Set {
		p.sandbox = s.Sub.Sandbox.Value
	}
	if s.Sub.Network.Set {
		p.network = s.Sub.Network.Value
	}

	for _, e := range s.RequiresApproval {
		p.approval[Capability(e.Value)] = true
	}
	p.compileApprovals(s.Sub.ApprovePrefixes, fail)
	p.runtime = DefaultRuntime()
	for i, l := range s.Runtime.Limits {
		if l.Set {
			p.runtime.setLimit(i, l.Value)
		}
	}
	if s.Runtime.SecretAborts.Set {
		p.runtime.MaxSecretDependentAborts = s.Runtime.SecretAborts.Value
	}
	if s.Runtime.LeakBits.Set {
		p.runtime.MaxLeakBits = s.Runtime.LeakBits.Value
	}
	for _, c := range s.Runtime.PerCap {
		p.runtime.MaxCallsPerCapability[c.Capability] = c.Value
	}
	for _, t := range s.Tools {
		rec := ToolRecord{Name: t.Name, BackendMethod: "GET"}
		for _, c := range t.Capabilities {
			rec.Capabilities = append(rec.Capabilities, Capability(c.Value))
		}
		if t.BackendURL.Set {
			rec.BackendURL = t.BackendURL.Value
		}
		if t.BackendMethod.Set {
			rec.BackendMethod = t.BackendMethod.Value
		}
		if t.Description.Set {
			rec.Description = t.Description.Value
		}
		p.tools[t.Name] = rec
	}
	p.caps = deriveCapabilities(s)
	p.checkShadowed(probs)
	p.protected = []string{p.auditLog}
	if p.path != "" {
		p.protected = append(p.protected, p.path)
	}
	p.compileDeclassify(s, probs)
	p.compileTranscript(s, probs)
	return p, nil
}

// deriveCapabilities enables a capability when a list that grants it (its
// Grants keys in the capability table) has an entry.
func deriveCapabilities(s *spec) []Capability {
	var caps []Capability
	for i := range capabilities {
		c := &capabilities[i]
		for _, l := range s.grantLists(c) {
			if len(l) > 0 {
				caps = append(caps, c.Name)
				break
			}
		}
	}
	return caps
}

func canonicalDir(dir string) (string, error) {
	if dir == "" {
		dir = "."
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("make absolute: %w", err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("resolve: %w", err)
	}
	fi, err := os.Stat(real)
	if err != nil {
		return "", fmt.Errorf("stat: %w", err)
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", real)
	}
	return real, nil
}

func userHome() string {
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return h
	}
	if u, err := user.Current(); err == nil {
		return u.HomeDir
	}
	return ""
}
