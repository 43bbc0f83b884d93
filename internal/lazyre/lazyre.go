// Package lazyre holds regular expressions compiled on first use instead of
// at start-up: a package-level regexp.MustCompile runs in every process that
// links the package, so every `aegis run` would pay for the expressions of
// commands it does not run.
package lazyre

import (
	"regexp"
	"sync"
)

// New returns a function that compiles expr on its first call (panicking,
// as regexp.MustCompile does, if expr is invalid) and returns the same
// *regexp.Regexp on every call.
func New(expr string) func() *regexp.Regexp {
	return sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(expr) })
}
