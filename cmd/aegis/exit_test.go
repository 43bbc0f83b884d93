package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aegisdev/aegis/policy"
)

// exitCode is the one place errors become exit codes: a refusal by the
// policy is 2 however it is wrapped, an invalid policy 5, an error that
// carries its own code that code, anything else 5.
func TestExitCodeMapsEveryKind(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{&policy.DeniedError{Capability: policy.FSRead, Target: "x"}, exitDenied},
		{fmt.Errorf("explain: %w", &policy.DeniedError{Capability: policy.FSRead, Target: "x"}), exitDenied},
		{fmt.Errorf("load: %w", &policy.LoadError{Problems: []policy.Problem{{Msg: "bad"}}}), exitConfig},
		{&exitError{code: 7, err: errors.New("flow")}, 7},
		{fmt.Errorf("wrapped: %w", &exitError{code: 4}), 4},
		{errors.New("open x: no such file"), exitConfig},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}
