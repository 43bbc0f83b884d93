package policy

import "sort"

// Capability names one kind of effect a script may ask for. The set is
// closed: a policy, a tool record or a requires_approval list naming anything
// else is a load error.
type Capability string

// The capabilities, grouped by the [section] that governs them.
const (
	FSRead   Capability = "fs.read"
	FSWrite  Capability = "fs.write"
	FSDelete Capability = "fs.delete"
	FSList   Capability = "fs.list"
	FSExists Capability = "fs.exists"

	HTTPGet    Capability = "net.http_get"
	HTTPPost   Capability = "net.http_post"
	HTTPPut    Capability = "net.http_put"
	HTTPPatch  Capability = "net.http_patch"
	HTTPDelete Capability = "net.http_delete"

	EnvRead Capability = "env.read"

	SubprocessExec Capability = "subprocess.exec"
)

// allCapabilities is the closed set in a stable display order.
var allCapabilities = [...]Capability{
	FSRead, FSWrite, FSDelete, FSList, FSExists,
	HTTPGet, HTTPPost, HTTPPut, HTTPPatch, HTTPDelete,
	EnvRead, SubprocessExec,
}

// AllCapabilities returns every capability Aegis knows, in display order.
func AllCapabilities() []Capability {
	out := make([]Capability, len(allCapabilities))
	copy(out, allCapabilities[:])
	return out
}

// Known reports whether c is one of the capabilities Aegis knows.
func (c Capability) Known() bool {
	for _, k := range allCapabilities {
		if k == c {
			return true
		}
	}
	return false
}

// IsNet reports whether c is one of the net.http_* capabilities.
func (c Capability) IsNet() bool {
	switch c {
	case HTTPGet, HTTPPost, HTTPPut, HTTPPatch, HTTPDelete:
		return true
	}
	return false
}

// IsFS reports whether c is one of the fs.* capabilities.
func (c Capability) IsFS() bool {
	switch c {
	case FSRead, FSWrite, FSDelete, FSList, FSExists:
		return true
	}
	return false
}

// capabilityNames returns the known names as strings, for suggestions.
func capabilityNames() []string {
	out := make([]string, len(allCapabilities))
	for i, c := range allCapabilities {
		out[i] = string(c)
	}
	return out
}

// sortCapabilities orders caps by display order.
func sortCapabilities(caps []Capability) {
	rank := func(c Capability) int {
		for i, k := range allCapabilities {
			if k == c {
				return i
			}
		}
		return len(allCapabilities)
	}
	sort.Slice(caps, func(i, j int) bool { return rank(caps[i]) < rank(caps[j]) })
}
