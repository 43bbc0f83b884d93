package builtins

import (
	"errors"
	"sync"

	"github.com/aegisdev/aegis/labels"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// Memory. A run's allocation budget ([runtime].max_memory_mb) is counted
// per thread by the interpreter (thread.SetMaxAllocBytes), so concurrent
// runs in one process (aegis-mcp) each have their own and cannot trip each
// other's. The interpreter sees what Starlark code allocates; what a host
// builtin builds (a file's content, a response body, a command's output, a
// directory listing) it does not, so each builtin that hands the script data
// of a size the world chooses charges it with thread.ChargeAlloc, before
// reading when the size is known (fs.read, fs.list) and otherwise as soon
// as the effect returns (its own cap bounds the overshoot).

// errMemory is the limit a host builtin's charge hits.
func (h *Host) memoryLimit() *LimitError {
	return &LimitError{Limit: "max_memory_mb", Value: h.MaxMemoryMB,
		Detail: "the data a builtin returned would take the run past its memory budget"}
}

// chargeAlloc charges n bytes to the run's budget. The error is labelled l:
// how large the data is depends on what was read.
func (h *Host) chargeAlloc(thread *starlark.Thread, n int64, l labels.Label) error {
	if n <= 0 {
		return nil
	}
	if err := thread.ChargeAlloc(n); err != nil {
		return starlark.LabelError(h.memoryLimit(), l)
	}
	return nil
}

// errAbandoned is what a charge made after its builtin returned gets.
var errAbandoned = errors.New("the call was abandoned")

// charger lets an effect running on another goroutine charge the thread,
// but never after the builtin has returned: an abandoned effect (the run was
// stopped while it was blocked) may still be running, and the thread is not
// its to touch then.
type charger struct {
	h      *Host
	thread *starlark.Thread
	label  labels.Label

	mu   sync.Mutex
	done bool
}

func (h *Host) newCharger(thread *starlark.Thread, l labels.Label) *charger {
	return &charger{h: h, thread: thread, label: l}
}

// charge is the callback handed to the effect.
func (c *charger) charge(n int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return errAbandoned
	}
	return c.h.chargeAlloc(c.thread, n, c.label)
}

// stop ends the charger's use of the thread; call it before the builtin
// returns.
func (c *charger) stop() {
	c.mu.Lock()
	c.done = true
	c.mu.Unlock()
}
