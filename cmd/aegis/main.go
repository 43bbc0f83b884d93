// Command aegis runs agent-written Starlark scripts under an operator's
// policy, and manages that policy.
//
// main.go only wires: each subcommand is a constructor in its own file,
// registered below with one line. Shared flags (--policy, --json) and the
// policy fallback live in flags.go; every error-to-exit-code mapping lives
// in exit.go.
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/internal/version"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// newRootCmd builds the command tree.
func newRootCmd() *cobra.Command { return newRootCmdOnly("") }

// newRootCmdOnly builds the root command with one subcommand, the one
// named only, or with all of them when only is "".
func newRootCmdOnly(only string) *cobra.Command {
	root := &cobra.Command{
		Use:   "aegis",
		Short: "Run agent scripts under a policy that says what they may touch",
		Long: `Aegis runs Starlark scripts written by an AI agent and lets them act on the world only
through a small set of capabilities (fs, net, env, subprocess), each call judged by the
operator's policy file, and with local-only data kept from leaving the machine.

Start with a policy for your project, check it, ask it questions, run a script, and check
the whole setup:

  aegis init --lang auto
  aegis policy validate
  aegis policy explain fs.read src/main.go
  aegis run task.star
  aegis doctor

Without --policy, commands use the aegis.toml in the working directory or the nearest
parent (up to the repository root or $HOME) and name it on stderr. With --json, every
command prints exactly one JSON object on every exit (docs/cli.md).

Exit codes: 0 ok, 1 a failed check, 2 denied by the policy, 5 I/O, configuration or usage
error (run-specific codes are listed under "aegis run --help").`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Runnable, so that an unknown command reaches noArgs (one
		// "did you mean" for every level) instead of cobra's own.
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	root.SetFlagErrorFunc(usageError)
	if only == "" {
		// --version is a flag of the root alone (reading the build
		// information is work a subcommand does not need).
		root.Version = version.Get().String()
		root.SetVersionTemplate("aegis {{.Version}}\n")
	}
	for _, c := range subcommands {
		if only == "" || c.name == only {
			root.AddCommand(c.build())
		}
	}
	root.SetHelpCommand(newHelpCmd())
	// aegis has a completion command of its own: cobra's default one,
	// which it would add to a tree without it, is never wanted.
	root.CompletionOptions.DisableDefaultCmd = true
	return root
}

// subcommands are aegis's commands, in the order help lists them, each
// under the name its constructor gives it (TestSubcommandNames).
var subcommands = []struct {
	name  string
	build func() *cobra.Command
}{
	{"run", newRunCmd},
	{"audit", newAuditCmd},
	{"policy", newPolicyCmd},
	{"init", newInitCmd},
	{"host-config", newHostConfigCmd},
	{"probe", newProbeCmd},
	{"doctor", newDoctorCmd},
	{"version", newVersionCmd},
	{"completion", newCompletionCmd},
	{"transcript", newTranscriptCmd},
}

// commandNamed returns the command args invoke when their first argument
// names one outright, else "". Building that command alone is all such an
// invocation needs: a one-line `aegis run` would otherwise spend a
// noticeable share of its start building the whole tree. completion
// describes the whole tree, so it gets the whole tree.
func commandNamed(args []string) string {
	if len(args) == 0 || args[0] == "completion" {
		return ""
	}
	for _, c := range subcommands {
		if c.name == args[0] {
			return c.name
		}
	}
	return ""
}

// run executes the CLI in-process and returns the exit code; tests call it
// directly. A command asked for --json that fails before printing its
// object still prints one (jsonout.go).
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmdOnly(commandNamed(args))
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	ctx, st := withJSONState(context.Background())
	err := root.ExecuteContext(ctx)
	if err != nil && !st.written && wantsJSON(root, args) {
		if werr := writeObject(stdout, nil, outcomeOf(err)); werr != nil {
			fmt.Fprintln(stderr, "aegis: "+werr.Error())
		}
	}
	return report(stderr, err)
}

// newHelpCmd is "aegis help [command]". Cobra's own showed the root's help,
// exit 0, for a topic that names no command ("aegis help bogus"); this one
// answers as the command line itself would: a usage error naming the
// commands there are, with a suggestion.
func newHelpCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		Long:  "Help prints the help of the command named, as 'aegis COMMAND --help' does.",
		Example: `  aegis help run
  aegis help policy explain`,
		RunE: func(cmd *cobra.Command, args []string) error {
			target, rest, err := cmd.Root().Find(args)
			if err != nil {
				return usageError(cmd, err)
			}
			if len(rest) > 0 && target.HasSubCommands() {
				return noArgs(target, rest)
			}
			return target.Help()
		},
	}
}
