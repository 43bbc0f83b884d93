package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/aegisdev/aegis/internal/quote"
	"github.com/aegisdev/aegis/internal/suggest"
	"github.com/aegisdev/aegis/policy"
)

// Exit codes of the aegis CLI. `aegis run` adds the codes of its run kinds
// (script error 1, verifier 3, confirmation 4, limit 6, flow 7) by returning
// errors that implement exitCoder.
const (
	exitOK     = 0
	exitDenied = 2 // the policy denied what was asked
	exitConfig = 5 // I/O, an invalid policy, a misused command
)

// exitCoder is implemented by errors that carry their own exit code.
type exitCoder interface {
	ExitCode() int
}

// exitError ends a command with a code. When quiet, the command has already
// said everything on stdout or stderr, and nothing more is printed.
type exitError struct {
	code  int
	quiet bool
	usage bool // a misuse of the command (exit kind usage_error)
	err   error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

// usageError marks a misuse of a command (bad flag, wrong arguments) as a
// configuration error and points at --help. Cobra's own parse errors reach
// it through SetFlagErrorFunc; commands' Args checks return it directly.
func usageError(cmd *cobra.Command, err error) error {
	return &exitError{code: exitConfig, usage: true, err: fmt.Errorf("%w\nrun '%s --help' for usage", err, cmd.CommandPath())}
}

// exitCode is the one place errors become exit codes.
func exitCode(err error) int {
	var (
		coder  exitCoder
		denied *policy.DeniedError
		load   *policy.LoadError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &coder):
		return coder.ExitCode()
	case errors.As(err, &denied):
		return exitDenied
	case errors.As(err, &load):
		return exitConfig
	}
	// Everything else that escapes a command is about its inputs: files,
	// arguments, the environment.
	return exitConfig
}

// report prints err (unless it is quiet) and returns its exit code.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.quiet {
		return ee.code
	}
	msg := err.Error()
	// Errors quote what they were given (paths, targets, arguments),
	// which may hold control characters: shown, never sent.
	fmt.Fprintln(stderr, "aegis: "+quote.VisibleText(msg))
	return exitCode(err)
}

// noArgs is cobra.NoArgs as a usage error; for a command with
// subcommands, an argument is an unknown subcommand.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		var names []string
		for _, c := range cmd.Commands() {
			if c.IsAvailableCommand() {
				names = append(names, c.Name())
			}
		}
		msg := fmt.Sprintf("unknown command %q for %q; its commands: %s", args[0], cmd.CommandPath(), strings.Join(names, ", "))
		if s := suggest.DidYouMean(args[0], names); s != "" {
			msg += " (" + s + ")"
		}
		return usageError(cmd, errors.New(msg))
	}
	return usageError(cmd, fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), strings.Join(args, " ")))
}
