package policy

import (
	"fmt"
	"strings"

	"github.com/aegisdev/aegis/internal/suggest"
)

// merge lays the operator's file over its inherited preset.
//
// Lists: the file's entries are appended in order, skipping ones already
// present; an entry "!X" removes the entry X that is present at that point
// (inherited, or earlier in the same list). A negation that removes nothing
// is an error: it is almost always a typo, and a silently kept deny entry
// leaves the operator believing something is allowed that is not.
// [subprocess.deny_args] and [tools] merge per key the same way; a key
// written "!name" drops the inherited key.
// Scalars: the file wins when it sets one, except [runtime] limits, where
// the smaller value wins (a file tightens a preset's limit, never loosens
// it), and sandbox, which a file cannot weaken (an inherited "bwrap" or
// "landlock" stays; an inherited "auto" cannot become "none").
func merge(base, over *spec, file string, probs *problems) *spec {
	out := newSpec()
	for _, lk := range listKeys {
		*lk.get(out) = mergeList(lk.kind, lk.qualified(), *lk.get(base), *lk.get(over), file, probs)
	}
	out.Env.DenyVars = liftPresetSecretDenies(out.Env.DenyVars, over.Env.LocalOnlyVars, over.Env.DenyVars)
	out.Version = pickScalar(base.Version, over.Version)
	out.Name = pickScalar(base.Name, over.Name)
	out.Description = pickScalar(base.Description, over.Description)
	out.Inherits = over.Inherits
	out.Net.TimeoutSeconds = pickScalar(base.Net.TimeoutSeconds, over.Net.TimeoutSeconds)
	out.Sub.Sandbox = base.Sub.Sandbox
	if over.Sub.Sandbox.Set && (!base.Sub.Sandbox.Set || sandboxRank(over.Sub.Sandbox.Value) >= sandboxRank(base.Sub.Sandbox.Value)) {
		out.Sub.Sandbox = over.Sub.Sandbox
	}
	out.Sub.Network = pickScalar(base.Sub.Network, over.Sub.Network)
	for i := range out.Runtime.Limits {
		out.Runtime.Limits[i] = pickMin(base.Runtime.Limits[i], over.Runtime.Limits[i])
	}
	out.Runtime.SecretAborts = pickMin(base.Runtime.SecretAborts, over.Runtime.SecretAborts)
	out.Runtime.LeakBits = pickMin(base.Runtime.LeakBits, over.Runtime.LeakBits)
	out.Runtime.PerCap = mergePerCap(base.Runtime.PerCap, over.Runtime.PerCap)
	out.Runtime.PerCapAt = over.Runtime.PerCapAt
	out.Sub.DenyArgs = mergeDenyArgs(base.Sub.DenyArgs, over.Sub.DenyArgs, file, probs)
	out.Tools = mergeTools(base.Tools, over.Tools, file, probs)
	out.Runtime.Transcript = pickScalar(base.Runtime.Transcript, over.Runtime.Transcript)
	out.Declassify = mergeDeclassify(base.Declassify, over.Declassify, file, probs)
	return out
}

// liftPresetSecretDenies drops a preset's deny_vars entry that the operator's
// file names, exactly, in local_only_vars. The preset denies well-known secret
// variables (OPENAI_API_KEY, GITHUB_TOKEN, …) so that a script cannot read
// them as public data; declaring one local-only is the safe way to let
// scripts use it, and it is what an operator writing
// `local_only_vars = ["OPENAI_API_KEY"]` means. A deny written in the
// operator's own file still wins, and globs lift nothing.
func liftPresetSecretDenies(deny, localOnly, ownDeny []Entry) []Entry {
	if len(localOnly) == 0 {
		return deny
	}
	ownDenies := func(v string) bool {
		for _, o := range ownDeny {
			if o.Value == v {
				return true
			}
		}
		return false
	}
	out := deny[:0:0]
	for _, d := range deny {
		lifted := false
		if d.From.Preset != "" && !ownDenies(d.Value) {
			for _, l := range localOnly {
				if l.Value == d.Value && !strings.ContainsAny(l.Value, "*?[!") {
					lifted = true
					break
				}
			}
		}
		if !lifted {
			out = append(out, d)
		}
	}
	return out
}

func pickScalar[T any](base, over setting[T]) setting[T] {
	if over.Set {
		return over
	}
	return base
}

func pickMin(base, over setting[int64]) setting[int64] {
	if base.Set && over.Set && base.Value < over.Value {
		return base
	}
	if over.Set {
		return over
	}
	return base
}

// mergeList applies one list of the file to the inherited list.
func mergeList(kind valueKind, key string, base, over []Entry, file string, probs *problems) []Entry {
	out := make([]Entry, len(base), len(base)+len(over))
	copy(out, base)
	find := func(v string) int {
		k := entryKey(kind, v)
		for i, e := range out {
			if entryKey(kind, e.Value) == k {
				return i
			}
		}
		return -1
	}
	for _, e := range over {
		if target, neg := strings.CutPrefix(e.Value, "!"); neg {
			i := find(target)
			if i < 0 {
				probs.add(negationProblem(key, target, e.From, out, file))
				continue
			}
			out = append(out[:i], out[i+1:]...)
			continue
		}
		if find(e.Value) >= 0 {
			continue
		}
		out = append(out, e)
	}
	return out
}

func negationProblem(key, target string, at Source, present []Entry, file string) Problem {
	values := make([]string, len(present))
	for i, e := range present {
		values[i] = e.Value
	}
	hint := suggest.DidYouMean(target, values)
	if hint == "" {
		hint = "remove the \"!\" entry; to allow something, add it to an allow list instead"
	}
	return Problem{
		File: file, Line: at.Line, Key: key,
		Msg:  fmt.Sprintf("%q negates nothing: there is no inherited or earlier entry %q", "!"+target, target),
		Hint: hint,
	}
}

func mergeDenyArgs(base, over []argList, file string, probs *problems) []argList {
	out := make([]argList, len(base))
	copy(out, base)
	find := func(cmd string) int {
		for i, al := range out {
			if al.Command == cmd {
				return i
			}
		}
		return -1
	}
	for _, al := range over {
		if target, neg := strings.CutPrefix(al.Command, "!"); neg {
			i := find(target)
			if i < 0 {
				probs.add(Problem{File: file, Line: al.From.Line, Key: "[subprocess.deny_args]." + al.Command,
					Msg: fmt.Sprintf("%q negates nothing: no inherited deny_args key %q", al.Command, target)})
				continue
			}
			out = append(out[:i], out[i+1:]...)
			continue
		}
		key := "[subprocess.deny_args]." + al.Command
		if i := find(al.Command); i >= 0 {
			out[i] = argList{Command: al.Command, From: out[i].From,
				Patterns: mergeList(kindCommand, key, out[i].Patterns, al.Patterns, file, probs)}
			continue
		}
		out = append(out, argList{Command: al.Command, From: al.From,
			Patterns: mergeList(kindCommand, key, nil, al.Patterns, file, probs)})
	}
	return out
}

func mergeTools(base, over []toolSpec, file string, probs *problems) []toolSpec {
	out := make([]toolSpec, len(base))
	copy(out, base)
	for _, t := range over {
		i := -1
		for j := range out {
			if out[j].Name == t.Name {
				i = j
			}
		}
		key := "[tools." + t.Name + "].capabilities"
		if i < 0 {
			t.Capabilities = mergeList(kindCapability, key, nil, t.Capabilities, file, probs)
			out = append(out, t)
			continue
		}
		b := out[i]
		out[i] = toolSpec{
			Name: t.Name, From: t.From,
			Capabilities:  mergeList(kindCapability, key, b.Capabilities, t.Capabilities, file, probs),
			BackendURL:    pickScalar(b.BackendURL, t.BackendURL),
			BackendMethod: pickScalar(b.BackendMethod, t.BackendMethod),
			Description:   pickScalar(b.Description, t.Description),
		}
	}
	return out
}

func mergePerCap(base, over []capLimit) []capLimit {
	out := make([]capLimit, len(base))
	copy(out, base)
	for _, c := range over {
		found := false
		for i := range out {
			if out[i].Capability == c.Capability {
				found = true
				if c.Value < out[i].Value {
					out[i] = c
				}
			}
		}
		if !found {
			out = append(out, c)
		}
	}
	return out
}
