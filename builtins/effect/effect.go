// Package effect performs the I/O behind Aegis's capability builtins, after
// the policy has decided. It knows nothing of Starlark or of labels: its
// inputs are decisions already taken (the address the policy vetted, the
// environment the policy allows, the directory to run in), and its job is to
// carry them out without reopening any of them.
//
//	HTTP     one request to exactly the vetted netip.AddrPort: no DNS lookup
//	         of its own (so no rebinding window between check and connect), no
//	         proxy from the environment, no redirect following (a 3xx is a
//	         *RedirectError naming the Location), a deadline and a cap on the
//	         response body (*TooLargeError).
//	Exec     one subprocess with exactly the given environment and working
//	         directory, no stdin, its own process group (killed whole when it
//	         exits, on timeout and on cancel), capped stdout and stderr
//	         (*TooLargeError) and a typed *ExitError for a non-zero exit.
//	Jail     a JailSpec carried out by bubblewrap or Landlock (DetectSandbox
//	         picks one): no capability, the paths a policy grants, hidden
//	         paths absent, a pid namespace, no network unless granted.
//
// Every error names what was attempted and how it failed; none carries data
// read from the other side except ExitError.Stderr and the response body,
// which callers label.
package effect

import (
	"errors"
	"fmt"
	"time"
)

// TooLargeError reports output past a size cap. The data was discarded.
type TooLargeError struct {
	What  string // "response body", "stdout", "stderr"
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s exceeds the %d-byte limit", e.What, e.Limit)
}

// TimeoutError reports an effect stopped by its per-call deadline.
type TimeoutError struct {
	What  string
	After time.Duration
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("%s timed out after %s", e.What, e.After)
}

// ErrNoAddress is returned for an HTTP request without a vetted address.
var ErrNoAddress = errors.New("no vetted address to dial")
