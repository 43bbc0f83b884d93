package mcpserver

import (
	"encoding/json"
	"strings"

	"github.com/aegisdev/aegis/internal/quote"
)

// maxPolicySummaryBytes bounds aegis_policy's default answer. The server's
// instructions tell the model to call aegis_policy first, so its answer is
// paid for in every conversation; the full policy (tens of KB with a
// preset's deny lists) is one argument away.
const maxPolicySummaryBytes = 2048

// policyBrief is aegis_policy's default answer.
type policyBrief struct {
	Source           string              `json:"source"`
	Name             string              `json:"name,omitempty"`
	Description      string              `json:"description,omitempty"`
	Capabilities     []string            `json:"capabilities"`
	RequiresApproval []string            `json:"requires_approval"`
	Rules            map[string][]string `json:"rules"`
	Omitted          map[string]int      `json:"omitted,omitempty"` // entries left out of Rules, per key
	Limits           map[string]any      `json:"limits,omitempty"`
	More             string              `json:"more"`
}

// The pointer to the rest, with and without entries left out.
const (
	policyMoreAbridged = `Lists abridged ("omitted" counts the rest). aegis_policy {"detail":"full"} returns every rule with its origin; aegis_explain {"capability":...,"target":[...]} decides one call.`
	policyMoreComplete = `aegis_policy {"detail":"full"} adds each rule's origin; aegis_explain {"capability":...,"target":[...]} decides one call.`
)

// isDenyList reports keys that only take away. Their first entries are
// enough to show what kind of thing they hold; aegis_explain decides.
func isDenyList(key string) bool {
	return strings.HasSuffix(key, "].deny") || strings.Contains(key, "].deny_")
}

// PolicyBrief is aegis_policy's default answer: the summary as JSON within
// 2 KB. Allow-type lists keep as many entries as fit, deny-type lists a
// few; the number left out is reported per key.
func PolicyBrief(p PolicySummary) []byte {
	desc := p.Description
	if len(desc) > 200 {
		desc, _ = quote.Prefix(desc, 197)
		desc += "..."
	}
	var limits map[string]any
	if len(p.Limits) > 0 {
		limits = map[string]any{}
		for _, l := range p.Limits {
			limits[l.Key] = l.Value
		}
	}
	var out []byte
	for _, keep := range []int{64, 32, 16, 8, 4, 2, 0} {
		b := policyBrief{
			Source: p.Source, Name: p.Name, Description: desc,
			Capabilities: nonNil(p.Capabilities), RequiresApproval: nonNil(p.RequiresApproval),
			Rules: map[string][]string{}, Limits: limits, More: policyMoreComplete,
		}
		for _, r := range p.Rules {
			n := keep
			if isDenyList(r.Key) {
				n = min(keep, 4)
			}
			n = min(n, len(r.Entries))
			b.Rules[r.Key] = r.Entries[:n]
			if n < len(r.Entries) {
				if b.Omitted == nil {
					b.Omitted = map[string]int{}
				}
				b.Omitted[r.Key] = len(r.Entries) - n
			}
		}
		if b.Omitted != nil {
			b.More = policyMoreAbridged
		}
		out, _ = json.Marshal(b)
		if len(out) <= maxPolicySummaryBytes {
			return out
		}
		if keep == 0 {
			b.Limits = nil
			b.Description = ""
			out, _ = json.Marshal(b)
		}
	}
	return out
}

func nonNil(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return xs
}
