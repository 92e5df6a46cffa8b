package memlimit

import "time"

// DefaultInterval is how often the watchdog samples when no interval is given. At the few GB/s
// a process can fault in fresh pages, a worker can overshoot its limit by up to that rate times
// the interval before it is seen; RLIMIT_DATA is what stops fast growth.
const DefaultInterval = 50 * time.Millisecond

// ExceedFunc is called by the watchdog when process pid uses more than limit bytes (used is
// what it saw). It runs on the watchdog's goroutine, so it should be quick; it may call the
// Watchdog's Add and Remove but not Stop.
type ExceedFunc func(pid int, used, limit int64)

// Config configures a Limiter.
type Config struct {
	// Limit is each worker's limit in bytes; it must be > 0.
	Limit int64
	// Interval is how often the watchdog samples in the rlimit+watchdog mechanism;
	// DefaultInterval if 0.
	Interval time.Duration
	// OnExceed, if not nil, is told when the watchdog has found a worker over the limit and the
	// Limiter has killed it (SIGKILL): a hook for logs. The worker's death is reported as
	// usual, and its Guard's Exited then says it was the limit. With the cgroup mechanism the
	// kernel kills instead and OnExceed is not called.
	OnExceed ExceedFunc
	// NoCgroup skips cgroups and uses the rlimit+watchdog mechanism even where cgroups work.
	NoCgroup bool
}
