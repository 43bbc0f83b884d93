package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/policy"
)

// The flags every command that reads a policy shares, defined once.

// addPolicyFlag registers -p/--policy on cmd.
func addPolicyFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVarP(dst, "policy", "p", "",
		"policy file (default: the secure-defaults preset, which denies every effect)")
}

// addJSONFlag registers --json on cmd.
func addJSONFlag(cmd *cobra.Command, dst *bool) {
	cmd.Flags().BoolVar(dst, "json", false, "print JSON (a stable schema) instead of text")
}

// loadPolicy loads the policy file at path. With no path it falls back to
// the secure-defaults preset anchored at the working directory, and says
// so on stderr, because a run under it can do nothing but compute.
func loadPolicy(cmd *cobra.Command, path string, opts ...policy.Option) (*policy.Policy, error) {
	if path != "" {
		return policy.Load(path, opts...)
	}
	cwd, err := os.Getwd()
	if err != nil {
		return nil, fmt.Errorf("find the working directory: %w", err)
	}
	fmt.Fprintln(cmd.ErrOrStderr(), "aegis: no --policy given; using the secure-defaults preset, which denies every effect (write a policy with 'aegis init')")
	return policy.Preset("secure-defaults", cwd, opts...)
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
