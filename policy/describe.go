package policy

// Description is the effective policy after inheritance, every entry with
// where it came from. It is the stable JSON schema of `aegis policy show
// --json`; fields are only ever added.
type Description struct {
	Path             string       `json:"path,omitempty"`
	Root             string       `json:"root"`
	Name             string       `json:"name,omitempty"`
	Description      string       `json:"description,omitempty"`
	Version          string       `json:"version,omitempty"`
	Inherits         string       `json:"inherits,omitempty"`
	AuditLog         string       `json:"audit_log"`
	Capabilities     []Capability `json:"capabilities"`
	RequiresApproval []Entry      `json:"requires_approval"`

	// Lists holds every list-valued key in schema order, including empty
	// ones, keyed as the docs write them ("[filesystem].deny").
	Lists []ListDescription `json:"lists"`

	DenyArgs       []DenyArgsDescription `json:"deny_args"`
	Sandbox        Scalar                `json:"sandbox"`
	Network        Scalar                `json:"network"`
	TimeoutSeconds Scalar                `json:"timeout_seconds"`
	Runtime        []Scalar              `json:"runtime"`
	Tools          []ToolDescription     `json:"tools"`

	// Declassify is the [declassify] table: per local-only principal, the
	// releases scripts may ask for.
	Declassify []ReleaseDescription `json:"declassify"`
	// Transcript is [runtime].transcript (the real path), "" when unset.
	Transcript Scalar `json:"transcript"`
}

// ReleaseDescription is one [declassify] key.
type ReleaseDescription struct {
	Principal string  `json:"principal"`
	From      Source  `json:"from"`
	Kinds     []Entry `json:"kinds"`
}

// ListDescription is one list key and its effective entries.
type ListDescription struct {
	Key     string  `json:"key"`
	Entries []Entry `json:"entries"`
}

// DenyArgsDescription is one [subprocess.deny_args] key.
type DenyArgsDescription struct {
	Command  string  `json:"command"`
	From     Source  `json:"from"`
	Patterns []Entry `json:"patterns"`
}

// Scalar is one scalar setting; From is empty for a default.
type Scalar struct {
	Key   string `json:"key"`
	Value any    `json:"value"`
	From  string `json:"from"`
}

// ToolDescription is one [tools.X] record with provenance.
type ToolDescription struct {
	ToolRecord
	From Source `json:"from"`
}

// Describe returns the effective policy with provenance.
func (p *Policy) Describe() Description {
	s := p.spec
	d := Description{
		Path: p.path, Root: p.root, Name: p.name, AuditLog: p.auditLog,
		Description:  s.Description.Value,
		Version:      s.Version.Value,
		Inherits:     s.Inherits.Value,
		Capabilities: p.Capabilities(),
	}
	d.RequiresApproval = append([]Entry{}, s.RequiresApproval...)
	for _, lk := range listKeys {
		if lk.section == "" {
			continue
		}
		d.Lists = append(d.Lists, ListDescription{Key: lk.qualified(), Entries: append([]Entry{}, *lk.get(s)...)})
	}
	d.DenyArgs = []DenyArgsDescription{}
	for _, al := range s.Sub.DenyArgs {
		d.DenyArgs = append(d.DenyArgs, DenyArgsDescription{Command: al.Command, From: al.From, Patterns: append([]Entry{}, al.Patterns...)})
	}
	d.Sandbox = scalarOf("[subprocess].sandbox", s.Sub.Sandbox, SandboxAuto)
	d.Network = scalarOf("[subprocess].network", s.Sub.Network, NetworkNone)
	d.TimeoutSeconds = scalarOf("[network].timeout_seconds", s.Net.TimeoutSeconds, int64(DefaultNetTimeoutSeconds))
	rt := p.Runtime()
	defaults := [numLimits]int64{rt.MaxSeconds, rt.MaxSteps, rt.MaxCallstackSize, rt.MaxMemoryMB, rt.MaxOutputBytes, rt.MaxTotalCalls}
	for i, name := range runtimeKeys {
		d.Runtime = append(d.Runtime, scalarOf("[runtime]."+name, s.Runtime.Limits[i], defaults[i]))
	}
	d.Runtime = append(d.Runtime, scalarOf("[runtime].max_secret_dependent_aborts", s.Runtime.SecretAborts, int64(DefaultMaxSecretDependentAborts)))
	d.Runtime = append(d.Runtime, scalarOf("[runtime].max_leak_bits", s.Runtime.LeakBits, int64(DefaultMaxLeakBits)))
	for _, c := range s.Runtime.PerCap {
		d.Runtime = append(d.Runtime, Scalar{Key: "[runtime].max_calls_per_capability." + string(c.Capability), Value: c.Value, From: c.From.String()})
	}
	d.Declassify = []ReleaseDescription{}
	for _, r := range p.releases {
		d.Declassify = append(d.Declassify, ReleaseDescription{Principal: r.principal, From: r.from, Kinds: append([]Entry{}, r.kinds...)})
	}
	d.Transcript = scalarOf("[runtime].transcript", s.Runtime.Transcript, "")
	if p.transcript != "" {
		d.Transcript.Value = p.transcript
	}
	d.Tools = []ToolDescription{}
	for _, t := range s.Tools {
		d.Tools = append(d.Tools, ToolDescription{ToolRecord: p.tools[t.Name], From: t.From})
	}
	return d
}

func scalarOf[T any](key string, s setting[T], def T) Scalar {
	if s.Set {
		return Scalar{Key: key, Value: s.Value, From: s.From.String()}
	}
	return Scalar{Key: key, Value: def, From: "default"}
}
