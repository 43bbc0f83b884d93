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

	// MaxLeakBits is the leakage budget in bits: what runs that read a
	// local-only principal may reveal of it through how they end and how
	// far they got (docs/ifc-model.md, "The leakage budget"). Each abort
	// decided by local-only data is charged LeakCharge(n) bits, n being the
	// public calls the run made after its first local-only read; a run may
	// not make a public call that would let an abort exceed what is left.
	// It may be 0 (no local-only reads at all).
	MaxLeakBits int64 `json:"max_leak_bits"`

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
		MaxLeakBits:              DefaultMaxLeakBits,
		MaxCallsPerCapability:    map[Capability]int64{},
	}
}

// DefaultMaxSecretDependentAborts is what an unset
// [runtime].max_secret_dependent_aborts means: at most 16 bits of each
// local-only principal through how runs end, per audit log.
const DefaultMaxSecretDependentAborts = 16

// DefaultMaxLeakBits is what an unset [runtime].max_leak_bits means: 64
// bits per local-only principal, sixteen aborts made before any public call.
const DefaultMaxLeakBits = 64

// LeakCharge is the number of bits a secret-dependent abort is charged after
// n public calls since the run's first local-only read. Such a run shows its
// exit kind (one of six failure kinds: 3 bits) and how far it got (n, which
// the calls field, the requests a server saw and the files written reveal),
// coded with the Elias gamma code of n+1 (2⌊log₂(n+1)⌋+1 bits). The code is
// prefix-free, so the charges of a sequence of runs bound what their endings
// can tell together (docs/ifc-model.md).
func LeakCharge(n int64) int64 {
	if n < 0 {
		n = 0
	}
	m := uint64(n) + 1
	lg := int64(0)
	for m > 1 {
		m >>= 1
		lg++
	}
	return 3 + 2*lg + 1
}

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
