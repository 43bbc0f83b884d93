package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/internal/version"
)

// newVersionCmd is `aegis version`; `aegis --version` prints the same line.
func newVersionCmd() *cobra.Command {
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of this aegis binary: module version, revision and Go version",
		Long: `version prints which build of aegis this is, from the information the Go toolchain
stamps into the binary: the module version (a release tag, a pseudo-version, or "devel"
for a build from a source tree), the VCS revision and its time, whether the tree had
local changes, and the Go version and platform. aegis-mcp --version prints the same for
itself, and reports it to MCP clients as serverInfo.version.

Binaries built by 'go run' or 'go test' carry no VCS information.`,
		Example: `  aegis version
  aegis --version
  aegis version --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := version.Get()
			if jsonOut {
				return emitJSON(cmd, info, outcome{kind: kindOfCode(exitOK)})
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "aegis %s\n", info)
			return err
		},
	}
	addJSONFlag(cmd, &jsonOut)
	return cmd
}
