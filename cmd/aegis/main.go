// Command aegis runs agent-written Starlark scripts under an operator's
// policy, and manages that policy.
//
// main.go only wires: each subcommand is a constructor in its own file,
// registered below with one line. Shared flags (--policy, --json) and the
// policy fallback live in flags.go; every error-to-exit-code mapping lives
// in exit.go.
package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// newRootCmd builds the command tree.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "aegis",
		Short: "Run agent scripts under a policy that says what they may touch",
		Long: `Aegis runs Starlark scripts written by an AI agent and lets them act on the world only
through a small set of capabilities (fs, net, env, subprocess), each call judged by the
operator's policy file, and with local-only data kept from leaving the machine.

Start with a policy for your project, check it, and ask it questions:

  aegis init --lang auto
  aegis policy validate aegis.toml
  aegis policy explain --policy aegis.toml fs.read src/main.go

Exit codes: 0 ok, 2 denied by the policy, 5 I/O or configuration error
(run-specific codes are listed under "aegis run --help").`,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.SetFlagErrorFunc(usageError)
	root.AddCommand(newRunCmd())
	root.AddCommand(newAuditCmd())
	root.AddCommand(newPolicyCmd())
	root.AddCommand(newInitCmd())
	root.AddCommand(newHostConfigCmd())
	root.AddCommand(newProbeCmd())
	return root
}

// run executes the CLI in-process and returns the exit code; tests call it
// directly.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	return report(stderr, err)
}
