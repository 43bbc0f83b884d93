package policy

// RuntimeLimits are the [runtime] budgets of one run. Every field is
// positive; unset keys take the defaults below. The runner enforces them;
// the policy only carries them.
type RuntimeLimits struct {
	MaxSeconds       int64 `json:"max_seconds"`        // wall clock for the whole run
	MaxSteps         int64 `json:"max_steps"`          // interpreter steps
	MaxCallstackSize int64 `json:"max_callstack_size"` // Starlark call depth
	MaxMemoryMB      int64 `json:"max_memory_mb"`      // heap budget
	MaxOutputBytes   int64 `json:"max_output_bytes"`   // printed output
	MaxTotalCalls    int64 `json:"max_total_calls"`    // effecting builtin calls, all capabilities

	// MaxSecretDependentAborts is the leakage budget of the termination
	// channel: how many runs that read a local-only principal may end with
	// an abort decided by local-only data before the principal's sources
	// are refused (per audit log, and per aegis-mcp session). Unlike the
	// limits above it may be 0: then no run may read a local-only source at
	// all, because any run that reads one could abort depending on it.
	MaxSecretDependentAborts int64 `json:"max_secret_dependent_aborts"`

	// MaxCallsPerCapability caps calls per capability; a capability absent
	// from the map is bounded only by MaxTotalCalls.
	MaxCallsPerCapability map[Capability]int64 `json:"max_calls_per_capability"`
}

// DefaultRuntime is what an empty [runtime] section means.
func DefaultRuntime() RuntimeLimits {
	return RuntimeLimits{
		MaxSeconds:               60,
		MaxSteps:                 100_000_000,
		MaxCallstackSize:         1000,
		MaxMemoryMB:              512,
		MaxOutputBytes:           1 << 20,
		MaxTotalCalls:            10_000,
		MaxSecretDependentAborts: DefaultMaxSecretDependentAborts,
		MaxCallsPerCapability:    map[Capability]int64{},
	}
}

// DefaultMaxSecretDependentAborts is what an unset
// [runtime].max_secret_dependent_aborts means: at most 16 bits of each
// local-only principal through how runs end, per audit log.
const DefaultMaxSecretDependentAborts = 16

// DefaultNetTimeoutSeconds is what an unset [network].timeout_seconds means.
const DefaultNetTimeoutSeconds = 30

func (r *RuntimeLimits) setLimit(i int, v int64) {
	switch i {
	case limitMaxSeconds:
		r.MaxSeconds = v
	case limitMaxSteps:
		r.MaxSteps = v
	case limitMaxCallstackSize:
		r.MaxCallstackSize = v
	case limitMaxMemoryMB:
		r.MaxMemoryMB = v
	case limitMaxOutputBytes:
		r.MaxOutputBytes = v
	case limitMaxTotalCalls:
		r.MaxTotalCalls = v
	}
}
