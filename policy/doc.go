// Package policy is Aegis's policy engine: it loads the operator's TOML
// policy file, the single source of truth for what an agent's script may
// do, and answers one question per effect: may this capability be used on
// this target?
//
// # Loading
//
//	Load(path, opts...)               a policy file; root = its directory
//	LoadBytes(name, data, root, ...)  a policy held in memory
//	Preset(name, root, ...)           a built-in policy ("secure-defaults")
//	Discover(dir, home)               the aegis.toml a command started in dir
//	                                  uses: the nearest up to the repository
//	                                  root or home (discover.go);
//	                                  DiscoverHere from the working directory
//
// Loading is strict: an unknown key or section, a wrong type, a bad glob or
// CIDR, a negation that removes nothing, or a major version other than 1 is
// a *LoadError listing every problem with file, line, key and a suggestion
// (the nearest valid key, the line to write). A file that inherits a preset
// is merged over it (merge.go): lists append, "!entry" removes an inherited
// entry, scalars override, runtime limits only tighten. Loading then refuses
// a policy that would let scripts write or delete the policy file, or read,
// write or delete the audit log (guard.go). Options inject the outside
// world: WithResolver (DNS), WithLookPath (PATH), WithHome (~), WithRoot,
// WithAuditLog.
//
// # Deciding
//
// A Capability names an effect (fs.read ... subprocess.exec). The capability
// table (capabilities.go) is the one list of them: section, grant keys,
// target, access class, flow role and HTTP method per capability, from
// which this package, the builtins, the verifier and aegis-mcp derive
// theirs (CapabilityTable, ScriptMembers, GrantText). The gate is
//
//	(*Policy).Decide(c, target...) Decision
//
// with the target a path (fs.*), a URL (net.*), a variable name (env.read)
// or the whole argv (subprocess.exec). Everything is denied unless a rule
// allows it; a deny rule wins over every allow rule; a local-only rule wins
// over a plain allow and marks the result LocalOnly with the label
// principals (package labels) the interpreter must attach. A Decision names
// the rule that decided (Rule, Section, Source), says why (Reason) and, when
// denied, how to allow it (Hint). It also carries what the effecting code
// must act on: ResolvedPath (the real path, symlinks followed; the real
// program for subprocess.exec) and Addr (the vetted address for net.*, to
// dial without resolving again). Decision.Err (or Denial) turns a denial
// into a *DeniedError, the one error type of a refused call. An allowed call whose capability is in requires_approval
// has RequiresApproval set, and PreApproved when a
// [subprocess].approve_prefixes entry answers for it (approve.go).
//
// The rules per section live in fs.go, net.go, env.go and exec.go (with the
// argument matching in argv.go); paths.go defines how patterns are anchored
// and what * and ** match. docs/policy-file.md is the operator's reference.
//
// # Flows
//
// FlowAllowed(c, target...) answers the information-flow question: may data
// carrying a local-only label go to this sink? Only into the local-only
// zone (flow.go). Principals lists every label the policy can produce and
// NewRegistry interns them.
//
// # Other accessors
//
//	Capabilities, Enabled        derived from the populated sections
//	RequiresApproval(c)          requires_approval
//	Runtime, DefaultRuntime      [runtime] limits with defaults
//	NetTimeoutSeconds, Sandbox   [network].timeout_seconds, [subprocess].sandbox
//	Network, Jail                [subprocess].network; the paths by access
//	                             class a subprocess jail binds (jail.go)
//	Tools, DecideTool            [tools] records; may a tool be offered?
//	ChildEnv, IsReservedVar      a subprocess's environment, rebuilt
//	AllowedEnv, LocalOnlyEnv, DeniedEnv
//	Root, Path, Name, AuditLog, GuardAuditLog
//	Describe                     the effective policy with provenance
//	                             (`aegis policy show`)
//	Presets, AllCapabilities, CapabilityNames, FormatMajor, DefaultAuditLog
//	HTTPMethods, HTTPCapability  the network verbs of the capability table
//
// # The invariant
//
// A Decision is about the resolved target it returns. Code that acts on the
// spelling the script gave instead (re-resolving a path, re-looking up a
// program on PATH, re-resolving a host name) reopens the gap the decision
// closed. A *Policy is immutable after loading and safe for concurrent use.
package policy
