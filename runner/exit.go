package runner

import (
	"errors"

	"github.com/aegisdev/aegis/builtins"
	"github.com/aegisdev/aegis/builtins/verify"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// Kind is how a run ended. Each kind has one exit code; Code and Classify
// are the only places that map errors to kinds and kinds to codes.
type Kind string

const (
	OK               Kind = "ok"
	ScriptError      Kind = "script_error"
	PolicyDenied     Kind = "policy_denied"
	VerifierRejected Kind = "verifier_rejected"
	ConfirmDenied    Kind = "confirm_denied"
	IOError          Kind = "io_error"
	Limit            Kind = "limit"
	FlowDenied       Kind = "flow_denied"
)

// Code returns the process exit code of k.
func (k Kind) Code() int {
	switch k {
	case OK:
		return 0
	case ScriptError:
		return 1
	case PolicyDenied:
		return 2
	case VerifierRejected:
		return 3
	case ConfirmDenied:
		return 4
	case IOError:
		return 5
	case Limit:
		return 6
	case FlowDenied:
		return 7
	}
	return 1
}

// Kinds lists every kind in exit-code order (for documentation and tests).
func Kinds() []Kind {
	return []Kind{OK, ScriptError, PolicyDenied, VerifierRejected, ConfirmDenied, IOError, Limit, FlowDenied}
}

// ConfigError is a problem with the run's setup rather than the script: an
// unusable audit log, a missing sandbox, an unreadable script.
type ConfigError struct {
	Err error
}

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Classify returns the kind of a run that ended with err. The order matters
// only where one error could wrap another: the run's own failures first
// (audit, limits), then what stopped the script, then the script's own bug.
func Classify(err error) Kind {
	if err == nil {
		return OK
	}
	var (
		auditErr   *builtins.AuditError
		configErr  *ConfigError
		limitErr   *builtins.LimitError
		flowErr    *starlark.FlowError
		deniedErr  *policy.DeniedError
		budgetErr  *builtins.BudgetError
		confirmErr *builtins.ConfirmDeniedError
		rejection  *verify.Rejection
	)
	switch {
	case errors.As(err, &auditErr), errors.As(err, &configErr):
		return IOError
	case errors.As(err, &limitErr):
		return Limit
	case errors.As(err, &flowErr):
		return FlowDenied
	case errors.As(err, &deniedErr), errors.As(err, &budgetErr):
		return PolicyDenied
	case errors.As(err, &confirmErr):
		return ConfirmDenied
	case errors.As(err, &rejection):
		return VerifierRejected
	}
	return ScriptError
}
