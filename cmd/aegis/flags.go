package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/internal/quote"
	"github.com/aegisdev/aegis/policy"
)

// The flags every command that reads a policy shares, defined once, and
// the policy discovery they all go through.

// addPolicyFlag registers -p/--policy on cmd.
func addPolicyFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVarP(dst, "policy", "p", "", policy.FlagHelp)
}

// addJSONFlag registers --json on cmd.
func addJSONFlag(cmd *cobra.Command, dst *bool) {
	cmd.Flags().BoolVar(dst, "json", false, "print one JSON object (see docs/cli.md) instead of text, on every exit")
}

// discoverPolicy finds the policy file for a command given no --policy
// and says on stderr which file it found, or that there is none ("").
func discoverPolicy(cmd *cobra.Command) (string, error) {
	d, err := policy.DiscoverHere()
	if err != nil {
		return "", &exitError{code: exitConfig, err: err}
	}
	w := cmd.ErrOrStderr()
	if d.Path == "" {
		fmt.Fprintf(w, "aegis: %s; using the secure-defaults preset, which denies every effect (write a policy with 'aegis init')\n", quote.Visible(d.Missing()))
		return "", nil
	}
	where := "the working directory"
	if len(d.Searched) > 1 {
		where = "a parent of the working directory"
	}
	fmt.Fprintf(w, "aegis: using the policy %s (found in %s; --policy chooses another)\n", quote.Visible(d.Path), where)
	return d.Path, nil
}

// loadPolicy loads the policy file at path; with no path, the one
// discovery finds, else the secure-defaults preset anchored at the working
// directory. A file that inherits no preset gets a warning.
func loadPolicy(cmd *cobra.Command, path string, opts ...policy.Option) (*policy.Policy, error) {
	if path == "" {
		found, err := discoverPolicy(cmd)
		if err != nil {
			return nil, err
		}
		if found == "" {
			cwd, err := os.Getwd()
			if err != nil {
				return nil, fmt.Errorf("find the working directory: %w", err)
			}
			return policy.Preset("secure-defaults", cwd, opts...)
		}
		path = found
	}
	p, err := policy.Load(path, opts...)
	if err != nil {
		return nil, err
	}
	if msg := noInheritsWarning(p); msg != "" {
		fmt.Fprintln(cmd.ErrOrStderr(), "aegis: warning: "+quote.Visible(msg))
	}
	return p, nil
}

// noInheritsWarning is the warning for a policy file without inherits, or
// "" when it has one (inherits = "none" says the omission is deliberate).
func noInheritsWarning(p *policy.Policy) string {
	if p.Path() == "" || p.Describe().Inherits != "" {
		return ""
	}
	return fmt.Sprintf("%s inherits no preset, so none of secure-defaults' protections apply "+
		"(~/.ssh, ~/.aws and other credentials, .env files, shells, cloud metadata addresses, approval before deletes and commands); "+
		"add inherits = \"secure-defaults\" at its top, or inherits = \"none\" to say this is deliberate", p.Path())
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("write JSON: %w", err)
	}
	return nil
}
