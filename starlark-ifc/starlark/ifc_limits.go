// This file is an Aegis addition: the errors of the interpreter's limits,
// as types a client tests for with errors.As (each is the cause of the
// *EvalError the run ends with), so that no client has to recognise them
// by their message.

package starlark

import "fmt"

// AllocLimitError is the error of an operation that would pass the limit
// of SetMaxAllocBytes (or a ChargeAlloc past it). Its message holds only
// the limit, never a size derived from data.
type AllocLimitError struct {
	Limit int64 // bytes
}

func (e *AllocLimitError) Error() string {
	return fmt.Sprintf("allocation limit exceeded (limit %d bytes; see SetMaxAllocBytes)", e.Limit)
}

// CallDepthError is the error of a call beyond the limit of
// SetMaxCallDepth.
type CallDepthError struct {
	Limit int // frames
}

func (e *CallDepthError) Error() string {
	return fmt.Sprintf("call depth limit exceeded (%d frames)", e.Limit)
}

// CancelledError is the error of a cancelled thread: Cancel was called
// (Reason is its argument), or the step limit of SetMaxExecutionSteps was
// reached without an OnMaxSteps hook (Reason "too many steps"). The
// interpreter loop, CheckCancel and the builtins that call it return it.
type CancelledError struct {
	Reason string
}

func (e *CancelledError) Error() string {
	return "Starlark computation cancelled: " + e.Reason
}

// cancelled returns the thread's cancellation error, or nil.
func (thread *Thread) cancelled() error {
	if reason := thread.cancelReason.Load(); reason != nil {
		return &CancelledError{Reason: *reason}
	}
	return nil
}

// typeCancel gives the first EvalError made from the interpreter loop's
// cancellation error a *CancelledError cause. The loops (interp.go and
// ifc_fastloop.go, kept close to upstream) stop a cancelled thread with an
// untyped error of the same text; it is recognised by being exactly that
// text while the thread is cancelled (TestLimitErrorsAreTyped keeps the two
// in step). The message and the labels of the EvalError are unchanged.
func (thread *Thread) typeCancel(e *EvalError, err error) {
	c, ok := thread.cancelled().(*CancelledError)
	if !ok || is[*CancelledError](err) || err.Error() != c.Error() {
		return
	}
	e.cause = c
}
