// Command aegis-mcp serves Aegis to MCP clients (Claude Code, opencode,
// Cursor, any host that speaks the Model Context Protocol) over stdio.
//
// main only wires: flags and process plumbing live in run, the protocol
// in package mcpserver, and the policy and runner behind openBackend.
package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/internal/version"
	"github.com/aegisdev/aegis/mcpserver"
	"github.com/aegisdev/aegis/policy"
)

// backendOpener builds the backend for one process from the flags.
type backendOpener func(policyPath, auditLog string, logger *slog.Logger) (mcpserver.Backend, error)

func main() {
	os.Exit(run(os.Args[1:], openBackend))
}

// run is the whole program; tests call it with a fake backend.
func run(args []string, open backendOpener) int {
	// Keep the real stdout for protocol messages only and point file
	// descriptor 1 at stderr, so nothing else in this process (a stray
	// print, a child process inheriting stdout) can corrupt the stream.
	proto, err := reserveStdout()
	if err != nil {
		earlyLogger(os.Stderr).Error("cannot set up stdout for the protocol", "err", err)
		return 5
	}
	cmd := newRootCmd(open, os.Stdin, proto, os.Stderr)
	cmd.SetArgs(args)
	if err := cmd.Execute(); err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			return 2
		}
		return 5
	}
	return 0
}

type usageError struct{ error }

func newRootCmd(open backendOpener, stdin io.Reader, stdout io.WriteCloser, stderr io.Writer) *cobra.Command {
	var policyPath, auditLog, confirm string
	var maxOutput int
	var logs logFlags
	cmd := &cobra.Command{
		Use:   "aegis-mcp --policy aegis.toml",
		Short: "Serve Aegis to MCP clients over stdio",
		Long: `aegis-mcp is a Model Context Protocol server on stdin/stdout. Agent hosts start it
and call its tools; every script runs under the policy exactly as with "aegis run":
the same verifier, limits, audit log and redaction of local-only values.

Tools: aegis_run (a Starlark script), aegis_fs_read, aegis_fs_write, aegis_exec and
aegis_http_get (policy-gated replacements for a host's own Read/Write/Bash/WebFetch),
and the read-only aegis_policy, aegis_explain and aegis_tool_routing. Resources: the
script API reference (aegis://docs/script-api) and the effective policy (aegis://policy).

It speaks MCP 2026-07-28 (server/discover, per-request _meta) and the initialize-era
revisions 2025-11-25, 2025-06-18, 2025-03-26 and 2024-11-05, per request.

Calls whose capability is listed in requires_approval are confirmed according to
--confirm: "elicit" asks the user through the client (MCP elicitation: a server request
in the legacy revisions, an input_required result in 2026-07-28) and denies when the
client cannot ask; "auto-allow" and "auto-deny" are for unattended runs.

Without --policy, the policy is aegis.toml in the working directory (where the host
starts the server: usually the project) or the nearest parent, up to the repository root
or $HOME; standard error names the file. --version prints the build (also reported to
clients as serverInfo.version).

Standard output carries protocol messages only; diagnostics go to standard error through
log/slog, as key=value text lines by default or one JSON object a line with --log-format json
(or AEGIS_MCP_LOG_FORMAT=json in the server's environment); --log-level (AEGIS_MCP_LOG_LEVEL)
sets the least severe shown: debug, info (the default: the policy used and one line per tool
call, with public facts only), warn or error.

"aegis host-config" prints the configuration that wires this server into a host.`,
		Example: `  aegis-mcp --policy aegis.toml
  aegis-mcp --policy aegis.toml --audit-log .aegis/audit.jsonl --confirm auto-deny
  aegis-mcp --policy aegis.toml --log-format json --log-level warn`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Get().String(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			logger, err := logs.logger(stderr)
			if err != nil {
				earlyLogger(stderr).Error("bad flag", "err", err)
				return usageError{err}
			}
			mode, err := mcpserver.ParseConfirmMode(confirm)
			if err != nil {
				logger.Error("bad flag", "err", err)
				return usageError{err}
			}
			if policyPath == "" {
				found, err := discoverPolicy(logger)
				if err != nil {
					logger.Error("cannot find the policy", "err", err)
					return err
				}
				policyPath = found
			}
			backend, err := open(policyPath, auditLog, logger)
			if err != nil {
				logger.Error("cannot load the policy", "err", err)
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			err = mcpserver.Serve(ctx, stdin, stdout, mcpserver.Options{
				Backend:        backend,
				Confirm:        mode,
				Logger:         logger,
				Version:        version.Get().Short(),
				MaxOutputBytes: maxOutput,
			})
			if err != nil && ctx.Err() == nil {
				logger.Error("the session failed", "err", err)
				return err
			}
			return nil // end of input or a termination signal: a clean exit
		},
	}
	cmd.SetVersionTemplate("aegis-mcp {{.Version}}\n")
	cmd.SetOut(stderr) // help and version text must never reach the protocol stream
	cmd.SetErr(stderr)
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		earlyLogger(stderr).Error("bad flag", "err", err)
		return usageError{err}
	})
	f := cmd.Flags()
	f.StringVarP(&policyPath, "policy", "p", "", policy.FlagHelp)
	f.StringVar(&auditLog, "audit-log", "", "audit log file (default: .aegis/audit.jsonl next to the policy)")
	f.StringVar(&confirm, "confirm", string(mcpserver.ConfirmElicit), "how requires_approval calls are answered: elicit, auto-allow or auto-deny")
	f.IntVar(&maxOutput, "max-output", 1<<20, "bytes of script output returned per call before truncation")
	logs.register(f)
	return cmd
}

// discoverPolicy finds the policy as aegis does (policy.Discover) and says
// which file it found; "" when there is none (the backend then falls back
// to secure-defaults and says so).
func discoverPolicy(logger *slog.Logger) (string, error) {
	d, err := policy.DiscoverHere()
	if err != nil {
		return "", err
	}
	if d.Path != "" {
		logger.Info("using the policy found from the working directory (--policy chooses another)", "policy", d.Path, "dir", d.From)
	} else {
		logger.Warn(d.Missing())
	}
	return d.Path, nil
}
