package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/policy"
)

// explainRelease answers `aegis policy explain declassify.KIND PRINCIPAL...`:
// may a script learn that release of data carrying these principals?
func explainRelease(cmd *cobra.Command, path string, asJSON bool, kind policy.ReleaseKind, principals []string) error {
	if !kind.Known() {
		names := make([]string, 0, 8)
		for _, k := range policy.ReleaseKinds() {
			names = append(names, "declassify."+string(k))
		}
		return usageError(cmd, fmt.Errorf("unknown release %q; one of: %s", "declassify."+string(kind), strings.Join(names, ", ")))
	}
	if len(principals) == 0 {
		return usageError(cmd, errors.New("name the local-only principals the release concerns, e.g. env:STRIPE_KEY"))
	}
	return answer(cmd, path, asJSON, func(p *policy.Policy) policy.Decision { return p.DecideRelease(kind, principals...) })
}

// printReleases prints the [declassify] table for `aegis policy show`.
func printReleases(w io.Writer, rs []policy.ReleaseDescription) {
	fmt.Fprintf(w, "\n[declassify]\n")
	if len(rs) == 0 {
		fmt.Fprintf(w, "  (empty)\t\n")
	}
	for _, r := range rs {
		for _, k := range r.Kinds {
			fmt.Fprintf(w, "  %q %s\t%s\n", r.Principal, k.Value, k.From)
		}
	}
}
