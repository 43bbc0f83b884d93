package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/internal/quote"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/runner"
)

// newRunCmd is `aegis run`: one script under one policy, through the same
// runner the MCP server uses.
func newRunCmd() *cobra.Command {
	var (
		policyPath string
		auditLog   string
		yes        bool
		jsonOut    bool
		taskID     string
	)
	cmd := &cobra.Command{
		Use:   "run [flags] SCRIPT",
		Short: "Run a Starlark script under a policy, with local-only data kept local",
		Long: `run executes a Starlark script (a file, or - for standard input) with the capability
modules fs, net, env and subprocess, each call judged by the policy, and json, base64,
hex, hmac, sha256, struct, time and math for plain computation (no import: all are
predeclared; time.now() read after a local-only read is itself local-only). Values read from local-only sources (local_only_read
files, local_only_vars, local_only_hosts, local_only_commands) are labelled: print shows
them as [REDACTED], and no effect may send them anywhere but a local-only destination.

Every capability call, allowed or denied, is appended to the audit log (default
.aegis/audit.jsonl under the policy's directory); check it with 'aegis audit verify'.

Calls the policy lists in requires_approval are put to you on the terminal, showing the
target and what it resolves to with control characters escaped: answer o (this call),
s (this call again, for the rest of this run) or n. --yes approves them all. Without a
terminal they are denied, and the message says which switch or policy key allows them;
[subprocess].approve_prefixes in the policy approves chosen commands ("go test") without
asking. Ctrl-C, SIGTERM and [runtime].max_seconds end the run at a prompt too.

Without --policy, the policy is aegis.toml in the working directory or the nearest parent
(up to the repository root or $HOME), as 'aegis policy validate' shows; stderr names it.

How a run ends can depend on a secret. A run that ends with an error or a limit
decided by local-only data shows only its exit kind and how many public calls it
made after its first local-only read, and is charged for that in bits (4 bits with
no such call, more with more) in the audit log. Once [runtime].max_leak_bits (default
64) or [runtime].max_secret_dependent_aborts (default 16) is reached for a local-only
source, reading it is refused (exit 2) until 'aegis audit reset-budget'.

Exit codes:
  0 ok                 1 script error         2 denied by the policy
  3 verifier rejected  4 approval refused     5 I/O or configuration
  6 runtime limit      7 flow denied (local-only data reached a public sink)`,
		Example: `  # run the bundled example
  aegis run --policy examples/hello/aegis.toml examples/hello/task.star

  # under the aegis.toml of this project (found from the working directory)
  aegis run task.star

  # a script from standard input, one JSON result object on stdout
  echo 'print(sha256("x"))' | aegis run --json -`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageError(cmd, fmt.Errorf("run takes one script (a file, or - for standard input), got %d arguments", len(args)))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			// Before the script runs, a failure is still reported in the
			// run's own schema under --json.
			early := func(err error) error {
				if !jsonOut {
					return err
				}
				o := outcomeOf(err)
				body := runResult{Result: runner.Result{ExitKind: o.kind, ExitCode: o.code, Error: o.err}}
				if werr := emitJSON(cmd, body, o); werr != nil {
					return werr
				}
				return err
			}
			ctx, arm, stop := interruptible(cmd.Context())
			defer stop()
			var opts []policy.Option
			if auditLog != "" {
				opts = append(opts, policy.WithAuditLog(auditLog))
			}
			p, err := loadPolicy(cmd, policyPath, opts...)
			if err != nil {
				if !jsonOut {
					return loadFailure(cmd, err, false)
				}
				return early(err)
			}
			script, filename, err := readScript(cmd.InOrStdin(), args[0])
			if err != nil {
				return early(err)
			}
			confirm, closeTTY := approver(yes)
			defer closeTTY()

			armingAudit, confirm, disarm := runArming(arm, confirm)
			res := runner.Run(ctx, runner.Options{Policy: p, AuditLog: auditLog, Confirm: confirm, Audit: armingAudit},
				runner.Request{Script: script, Filename: filename, TaskID: taskID})
			disarm()

			for _, w := range res.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "aegis: warning: %s\n", w)
			}
			if jsonOut {
				o := outcome{code: res.ExitCode, kind: res.ExitKind, err: res.Error}
				if err := emitJSON(cmd, runResult{Result: res, Policy: p.Path()}, o); err != nil {
					return err
				}
			} else {
				io.WriteString(cmd.OutOrStdout(), res.Stdout)
				if res.Error != "" {
					// Result.Error is self-contained for MCP and --json; some
					// messages already open with their kind ("flow denied at …").
					// It may quote what a script chose (a path, a URL): on the
					// terminal, control characters are shown, not sent.
					msg := quote.VisibleText(res.Error)
					kind := strings.ReplaceAll(res.ExitKind, "_", " ")
					if strings.HasPrefix(msg, kind+" ") || strings.HasPrefix(msg, kind+":") {
						fmt.Fprintf(cmd.ErrOrStderr(), "aegis: %s\n", msg)
					} else {
						fmt.Fprintf(cmd.ErrOrStderr(), "aegis: %s: %s\n", kind, msg)
					}
				}
			}
			if res.ExitCode != 0 {
				return &exitError{code: res.ExitCode, quiet: true}
			}
			return nil
		},
	}
	addPolicyFlag(cmd, &policyPath)
	addJSONFlag(cmd, &jsonOut)
	cmd.Flags().StringVar(&auditLog, "audit-log", "", "audit log file (default: .aegis/audit.jsonl under the policy's directory)")
	cmd.Flags().BoolVarP(&yes, "yes", "y", false, "approve every requires_approval call without asking")
	cmd.Flags().StringVar(&taskID, "task-id", "", "an identifier recorded with every audit event of this run")
	return cmd
}

// readScript reads the script named on the command line ("-" is stdin).
func readScript(stdin io.Reader, name string) (src []byte, filename string, err error) {
	if name == "-" {
		src, err = io.ReadAll(stdin)
		if err != nil {
			return nil, "", fmt.Errorf("read the script from standard input: %w", err)
		}
		return src, "<stdin>", nil
	}
	src, err = os.ReadFile(name)
	if err != nil {
		return nil, "", fmt.Errorf("read the script: %w", err)
	}
	return src, filepath.Base(name), nil
}

// runResult is the --json object of aegis run: the run's Result, and the
// policy file it ran under ("" for the preset).
type runResult struct {
	runner.Result
	Policy string `json:"policy,omitempty"`
}
