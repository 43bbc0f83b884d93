package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"
)

// newCompletionCmd is `aegis completion SHELL`: cobra's generators, with
// instructions and examples of our own.
func newCompletionCmd() *cobra.Command {
	shells := []string{"bash", "zsh", "fish", "powershell"}
	cmd := &cobra.Command{
		Use:   "completion bash|zsh|fish|powershell",
		Short: "Print the shell completion script for aegis",
		Long: `completion prints a script that teaches your shell to complete aegis's commands, flags
and arguments (hosts for host-config, languages for init, files where a file is expected).
Load it once per session, or install it where your shell looks:

  bash   source <(aegis completion bash)      (needs the bash-completion package)
         aegis completion bash > /etc/bash_completion.d/aegis
  zsh    aegis completion zsh > "${fpath[1]}/_aegis"   (with compinit enabled)
  fish   aegis completion fish > ~/.config/fish/completions/aegis.fish
  powershell   aegis completion powershell | Out-String | Invoke-Expression`,
		Example: `  aegis completion bash > /tmp/aegis.bash
  aegis completion zsh`,
		ValidArgs: shells,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 || !slices.Contains(shells, args[0]) {
				return usageError(cmd, fmt.Errorf("give one shell: %s", strings.Join(shells, ", ")))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			root, out := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(out, true)
			case "zsh":
				return root.GenZshCompletion(out)
			case "fish":
				return root.GenFishCompletion(out, true)
			default:
				return root.GenPowerShellCompletionWithDesc(out)
			}
		},
	}
	return cmd
}
