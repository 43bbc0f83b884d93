package runner

import (
	"errors"
	"runtime/metrics"
	"strings"
	"time"

	"github.com/aegisdev/aegis/builtins"
	"github.com/aegisdev/aegis/policy"
	"github.com/aegisdev/aegis/starlark-ifc/starlark"
)

// heapMetric is the bytes held by heap objects, live or not yet swept: it
// rises with every allocation, unlike the live-heap figure that only moves
// at collections.
const heapMetric = "/memory/classes/heap/objects:bytes"

// heapPoll is how often the watchdog samples the heap.
const heapPoll = 10 * time.Millisecond

// watchHeap calls over once if the heap grows more than budget bytes past
// its size when the run started. It is the backstop for allocations the
// interpreter's own budget (SetMaxAllocBytes) does not see, such as values
// built by host code; it returns when done closes.
func watchHeap(done <-chan struct{}, budget int64, over func()) {
	if budget <= 0 {
		return
	}
	sample := []metrics.Sample{{Name: heapMetric}}
	read := func() int64 {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return int64(sample[0].Value.Uint64())
	}
	base := read()
	tick := time.NewTicker(heapPoll)
	defer tick.Stop()
	for {
		select {
		case <-done:
			return
		case <-tick.C:
			if read()-base > budget {
				over()
				return
			}
		}
	}
}

// interpreterLimit recognises the interpreter's own limit errors (the
// allocation budget and the call depth) and returns them as limits.
func interpreterLimit(err error, limits policy.RuntimeLimits) error {
	var ev *starlark.EvalError
	if !errors.As(err, &ev) {
		return nil
	}
	// The interpreter's own messages start the error; a script cannot forge
	// them (fail and builtin errors are prefixed with their names).
	msg := ev.Msg
	switch {
	case strings.HasPrefix(msg, "allocation limit exceeded"):
		return &builtins.LimitError{Limit: "max_memory_mb", Value: limits.MaxMemoryMB,
			Detail: "the script tried to build a value larger than the budget"}
	case strings.HasPrefix(msg, "call depth limit exceeded"):
		return &builtins.LimitError{Limit: "max_callstack_size", Value: limits.MaxCallstackSize,
			Detail: "the script's calls nested too deeply"}
	}
	return nil
}
