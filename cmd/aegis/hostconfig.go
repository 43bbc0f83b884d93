package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/internal/subpath"
	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/mcpserver/mcppolicy"
	"github.com/aegisdev/aegis/policy"
)

// newHostConfigCmd is `aegis host-config HOST --policy P [--write]`. The
// configuration comes from mcpserver.HostConfig and the merge from
// mcpserver.WriteHostFiles; this loads the policy, resolves aegis-mcp and
// reports.
func newHostConfigCmd() *cobra.Command {
	var policyPath, auditLog, confirm, command, dir, only string
	var asJSON, write, trust bool
	cmd := &cobra.Command{
		Use:   "host-config " + strings.Join(mcpserver.HostNames(), "|") + " --policy P [--write]",
		Short: "Wire aegis-mcp into an agent host: write (or print) its configuration files",
		Long: `host-config produces what makes an agent host reach files, commands and the network
only through aegis-mcp: the MCP server entry, and the host's permission block that denies
its own effecting tools (Read, Write, Edit, Bash, PowerShell, WebFetch and the like: they
would bypass the policy) and allows the Aegis tools this policy enables. Wrappers whose
capability the policy does not enable are denied too, so the model does not try them.
The server entry names aegis-mcp by its absolute path (found next to this aegis binary,
else on PATH; --command overrides), so the host does not depend on its own PATH.

With --write the files are merged into the project (--dir, default the current
directory): entries host-config manages are added or corrected, everything else in the
files is kept, and each change is listed. Running it again changes nothing. For Claude
Code it also marks the project trusted in ~/.claude.json, because in a workspace nobody
trusted, "claude -p" ignores permissions.allow and every Aegis call would be refused;
it does so only when the project's Claude settings hold nothing but what host-config
manages, and --trust=false leaves trust alone (then pass the printed --allowedTools to
"claude -p" instead).

Without --write the files are printed: their JSON on standard output and a header per
file on standard error, so "--only PATH > PATH" writes one file; --json prints them as
one JSON array. See docs/07-agent-hosts.md.`,
		Example: `  aegis host-config claude-code --policy aegis.toml --write
  aegis host-config opencode --policy aegis.toml --confirm auto-deny --write
  aegis host-config claude-code --policy aegis.toml --only .mcp.json > .mcp.json
  aegis host-config cursor --policy aegis.toml --json`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: mcpserver.HostNames(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := mcpserver.CheckHost(args[0]); err != nil {
				return err
			}
			if policyPath == "" {
				return fmt.Errorf("--policy is required: the host's permissions are derived from the policy")
			}
			if only != "" && write {
				return usageError(cmd, fmt.Errorf("--only prints one file; it cannot be combined with --write"))
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
			server, err := mcpserver.ResolveServerCommand(command)
			if err != nil {
				return err
			}
			root, err := filepath.Abs(dir)
			if err != nil {
				return fmt.Errorf("locate %s: %w", dir, err)
			}
			summary := mcppolicy.Summary(p)
			o := mcpserver.HostConfigOptions{
				Host: args[0], PolicyPath: abs, AuditLog: auditLog, Confirm: mode,
				Command: server, Summary: summary, NoTrust: !trust,
			}
			if write {
				o.ProjectDir = root
			}
			files, err := mcpserver.HostConfig(o)
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			if len(summary.RequiresApproval) > 0 && mode == mcpserver.ConfirmElicit {
				fmt.Fprintf(stderr, "note: %s need approval; aegis-mcp asks through MCP elicitation and denies when the host cannot ask.\n",
					strings.Join(summary.RequiresApproval, ", "))
			}
			out := cmd.OutOrStdout()
			if write {
				changes, err := mcpserver.WriteHostFiles(root, files)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(out, changes)
				}
				printChanges(out, root, changes)
				return nil
			}
			if args[0] == "claude-code" {
				fmt.Fprintf(stderr, "note: under `claude -p` in a workspace nobody has trusted, Claude Code ignores permissions.allow; "+
					"--write also marks the project trusted, or pass --allowedTools %s to claude -p.\n", mcpserver.ClaudeAllowedTools(files))
			}
			if only != "" {
				for _, f := range files {
					if f.Path == only {
						_, err := io.WriteString(out, f.Content)
						return err
					}
				}
				paths := make([]string, len(files))
				for i, f := range files {
					paths[i] = f.Path
				}
				return usageError(cmd, fmt.Errorf("--only %s: %s writes %s", only, args[0], strings.Join(paths, ", ")))
			}
			if asJSON {
				return writeJSON(out, files)
			}
			for _, f := range files {
				fmt.Fprintf(stderr, "==> %s <==  (%s)\n", f.Path, f.Purpose)
				if _, err := io.WriteString(out, f.Content); err != nil {
					return err
				}
			}
			return nil
		},
	}
	addPolicyFlag(cmd, &policyPath)
	addJSONFlag(cmd, &asJSON)
	f := cmd.Flags()
	f.BoolVar(&write, "write", false, "merge the configuration into the project's files instead of printing it")
	f.StringVar(&dir, "dir", ".", "the project directory the files belong to (with --write)")
	f.BoolVar(&trust, "trust", true, "Claude Code: mark the project trusted so `claude -p` honours its permissions.allow (with --write)")
	f.StringVar(&only, "only", "", "print only the file with this path (e.g. .mcp.json), so the output can be redirected into it")
	f.StringVar(&auditLog, "audit-log", "", "audit log for the server (default: .aegis/audit.jsonl next to the policy)")
	f.StringVar(&confirm, "confirm", string(mcpserver.ConfirmElicit), "server approval mode: elicit, auto-allow or auto-deny")
	f.StringVar(&command, "command", "", "the aegis-mcp the host starts: a path or a name on PATH (default: next to this aegis, else on PATH)")
	return cmd
}

// printChanges reports what --write did, one block per file.
func printChanges(w io.Writer, root string, changes []mcpserver.FileChange) {
	for _, c := range changes {
		name := c.Path
		if filepath.IsAbs(name) {
			if home, err := os.UserHomeDir(); err == nil {
				if rel, ok := subpath.Rel(name, home); ok && rel != "." {
					name = "~/" + rel
				}
			}
		}
		fmt.Fprintf(w, "%s: %s\n", name, c.Status)
		for _, line := range c.Changes {
			fmt.Fprintf(w, "  %s\n", line)
		}
		if c.Note != "" {
			fmt.Fprintf(w, "  %s\n", c.Note)
		}
	}
	_ = root
}
