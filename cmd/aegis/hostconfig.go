package main

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcppolicy"
	"github.com/aegisdev/aegis/policy"
)

// newHostConfigCmd is `aegis host-config HOST --policy P`. The logic lives
// in mcpserver.HostConfig; this only loads the policy and prints.
func newHostConfigCmd() *cobra.Command {
	var policyPath, auditLog, confirm, command string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "host-config " + strings.Join(mcpserver.HostNames(), "|") + " --policy P",
		Short: "Print the configuration that wires aegis-mcp into an agent host",
		Long: `host-config prints what to paste into a project so that an agent host reaches files,
commands and the network only through aegis-mcp: the MCP server entry, and the host's
permission block that denies its own Read/Write/Edit/Bash/WebFetch-style tools (they
would bypass the policy) and allows the Aegis tools this policy enables. Wrappers whose
capability the policy does not enable are denied too, so the model does not try them.

Each file is printed under a "==> path <==" header; --json prints them as one
JSON array instead. See docs/hosts/ for what each host does with them.`,
		Example: `  aegis host-config claude-code --policy aegis.toml
  aegis host-config opencode --policy aegis.toml --confirm auto-deny
  aegis host-config cursor --policy aegis.toml --json`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: mcpserver.HostNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if policyPath == "" {
				return fmt.Errorf("--policy is required: the host's permissions are derived from the policy")
			}
			mode, err := mcpserver.ParseConfirmMode(confirm)
			if err != nil {
				return err
			}
			abs, err := filepath.Abs(policyPath)
			if err != nil {
				return fmt.Errorf("locate %s: %w", policyPath, err)
			}
			if auditLog != "" {
				if auditLog, err = filepath.Abs(auditLog); err != nil {
					return fmt.Errorf("locate the audit log: %w", err)
				}
			}
			var opts []policy.Option
			if auditLog != "" {
				opts = append(opts, policy.WithAuditLog(auditLog))
			}
			p, err := loadPolicy(cmd, abs, opts...)
			if err != nil {
				return err
			}
			summary := mcppolicy.Summary(p)
			files, err := mcpserver.HostConfig(mcpserver.HostConfigOptions{
				Host: args[0], PolicyPath: abs, AuditLog: auditLog, Confirm: mode,
				Command: command, Summary: summary,
			})
			if err != nil {
				return err
			}
			if len(summary.RequiresApproval) > 0 && mode == mcpserver.ConfirmElicit {
				fmt.Fprintf(cmd.ErrOrStderr(), "note: %s need approval; aegis-mcp asks through MCP elicitation and denies when the host cannot ask.\n",
					strings.Join(summary.RequiresApproval, ", "))
			}
			out := cmd.OutOrStdout()
			if asJSON {
				return writeJSON(out, files)
			}
			for i, f := range files {
				if i > 0 {
					fmt.Fprintln(out)
				}
				fmt.Fprintf(out, "==> %s <==  (%s)\n%s", f.Path, f.Purpose, f.Content)
			}
			return nil
		},
	}
	addPolicyFlag(cmd, &policyPath)
	addJSONFlag(cmd, &asJSON)
	f := cmd.Flags()
	f.StringVar(&auditLog, "audit-log", "", "audit log for the server (default: .aegis/audit.jsonl next to the policy)")
	f.StringVar(&confirm, "confirm", string(mcpserver.ConfirmElicit), "server approval mode: elicit, auto-allow or auto-deny")
	f.StringVar(&command, "command", "aegis-mcp", "how the host starts the server (a name on PATH or an absolute path)")
	return cmd
}
