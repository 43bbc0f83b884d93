// Package labels is the confidentiality lattice of Aegis's information-flow
// control.
//
// A Label is a set of source principals: the local-only things a value was
// derived from, such as the environment variable OPENAI_API_KEY
// ("env:OPENAI_API_KEY"), a file matched by a local_only_read pattern
// ("file:secrets/**"), a response from a local_only_hosts entry
// ("host:vault.internal") or the output of a local_only_commands entry
// ("cmd:pass"). The empty set, Public, labels everything else.
//
// The lattice is the powerset of principals ordered by inclusion:
//
//	join        l.Join(m)     set union
//	flows-to    l.FlowsTo(m)  subset: data labelled l may go where m may go
//	bottom      Public        the empty set
//
// Both operations run on every interpreted instruction, so a Label is a
// 64-bit set of principal indices: join is one OR, flows-to one AND-NOT, and
// a Label holds no pointers (arrays of labels cost the garbage collector
// nothing). Which principal a bit stands for is recorded by a Registry, made
// once per policy; there is no package-level state. A Registry names at most
// 63 principals; any further ones share the last bit, Overflow, which is as
// secret as the others (only the names reported for it become coarser).
//
// The one invariant every caller must keep: every path that moves a value
// moves its label. When in doubt, join: over-labelling costs precision, a
// dropped label leaks.
package labels

import (
	"math/bits"
	"sort"
	"strings"
)

// Label is a set of source principals. The zero value is Public.
type Label uint64

// Public is the bottom of the lattice: data derived from no local-only source.
const Public Label = 0

// Overflow is the bit shared by every principal past the 63rd of a Registry.
const Overflow Label = 1 << 63

// maxNamed is the number of principals that get a bit of their own.
const maxNamed = 63

// Join returns the least upper bound of l and m (set union).
func (l Label) Join(m Label) Label { return l | m }

// FlowsTo reports whether data labelled l may flow where data labelled m may
// (l is a subset of m).
func (l Label) FlowsTo(m Label) bool { return l&^m == 0 }

// IsPublic reports whether l is the empty set.
func (l Label) IsPublic() bool { return l == 0 }

// Count returns the number of principal bits set in l.
func (l Label) Count() int { return bits.OnesCount64(uint64(l)) }

// Principal name prefixes, one per kind of local-only source in a policy.
const (
	KindEnv  = "env"  // [environment].local_only_vars
	KindFile = "file" // [filesystem].local_only_read
	KindHost = "host" // [network].local_only_hosts
	KindCmd  = "cmd"  // [subprocess].local_only_commands
)

// Env returns the principal name of a local-only environment variable.
func Env(name string) string { return KindEnv + ":" + name }

// File returns the principal name of a local_only_read pattern.
func File(pattern string) string { return KindFile + ":" + pattern }

// Host returns the principal name of a local_only_hosts pattern.
func Host(pattern string) string { return KindHost + ":" + pattern }

// Cmd returns the principal name of a local-only command.
func Cmd(name string) string { return KindCmd + ":" + name }

// A Registry interns principal names into label bits. Make one per policy;
// it is not safe for concurrent mutation, but concurrent reads (Lookup, Names,
// Format) after the last Principal call are safe.
type Registry struct {
	names []string         // names[i] is the principal of bit i
	index map[string]Label // name -> its bit (Overflow for late names)
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{index: make(map[string]Label)}
}

// Principal returns the label that holds exactly the named principal,
// allocating its bit on first use.
func (r *Registry) Principal(name string) Label {
	if l, ok := r.index[name]; ok {
		return l
	}
	var l Label
	if len(r.names) < maxNamed {
		l = 1 << uint(len(r.names))
	} else {
		l = Overflow
	}
	r.names = append(r.names, name)
	r.index[name] = l
	return l
}

// Lookup returns the label of an already interned principal.
func (r *Registry) Lookup(name string) (Label, bool) {
	l, ok := r.index[name]
	return l, ok
}

// Names returns the sorted principal names in l. A bit with no known name is
// reported as "unknown:<bit>", so that no label is ever silently dropped from
// a report.
func (r *Registry) Names(l Label) []string {
	var out []string
	for b := 0; b < 64 && l != 0; b++ {
		bit := Label(1) << uint(b)
		if l&bit == 0 {
			continue
		}
		l &^= bit
		found := false
		for name, nl := range r.index {
			if nl == bit {
				out = append(out, name)
				found = true
			}
		}
		if !found {
			out = append(out, "unknown:"+itoa(b))
		}
	}
	sort.Strings(out)
	return out
}

// Format renders l as "{env:A, file:x}", or "public" for the empty set.
func (r *Registry) Format(l Label) string {
	if l == 0 {
		return "public"
	}
	return "{" + strings.Join(r.Names(l), ", ") + "}"
}

// Len returns the number of interned principals.
func (r *Registry) Len() int { return len(r.names) }

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var buf [4]byte
	n := len(buf)
	for i > 0 {
		n--
		buf[n] = byte('0' + i%10)
		i /= 10
	}
	return string(buf[n:])
}
