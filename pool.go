package multiproc

import (
	"fmt"

	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/engine"
)

// Pool is a set of worker processes that run tasks (Python's multiprocessing.Pool). Its
// methods and the functions that take it are safe for concurrent use. Make one with NewPool:
// the zero Pool has no workers and behaves as a closed one (calls fail with ErrPoolClosed).
type Pool struct {
	size    int // the configured number of workers; 0 on another backend
	backend backend.Backend
}

// Stats describes a pool at one moment.
type Stats struct {
	Workers, Busy            int   // live worker processes; those holding tasks
	Submitted, Completed     int64 // tasks given to the pool; tasks that returned without error
	Failed, WorkersRestarted int64 // tasks that ended with an error; workers replaced
	Queued                   int   // tasks waiting for a worker

	// WorkersRestarted by cause: a worker died (or was killed for a cancelled task), a task
	// ran past TaskTimeout, a worker went over MemoryLimit, a worker was recycled
	// (MaxTasksPerWorker, MaxWorkerMemory).
	Died, TimedOut, MemoryKilled, Recycled int64

	// MemoryMechanism says how MemoryLimit is enforced: "cgroup" or "rlimit+watchdog" (see
	// MemoryLimit); "" without a limit.
	MemoryMechanism string
}

// NewPool starts the workers and returns once each has answered its handshake. Processes
// defaults to runtime.NumCPU(). With a backend option (cluster.At, say) the pool runs its tasks
// there instead, and the options that describe local workers (Processes, MemoryLimit,
// MaxTasksPerWorker, MaxWorkerMemory, Initializer) are refused with ErrInvalidOption.
func NewPool(opts ...Option) (*Pool, error) {
	mustBeParent()
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	b, err := newBackend(c)
	if err != nil {
		return nil, err
	}
	p := &Pool{backend: b}
	if c.factory == nil {
		p.size = c.processes
	}
	return p, nil
}

// newEngine starts a pool's local worker processes.
func newEngine(c *config) (backend.Backend, error) {
	name := c.name
	if name == "" {
		name = "PoolWorker"
	}
	eng, err := engine.New(engine.Config{
		Workers:    c.processes,
		NamePrefix: name,
		Stdout:     c.stdout,
		Stderr:     c.stderr,
		Logger:     c.logger,
		Timeout:    c.timeout,
		Grace:      c.grace,
		MemLimit:   c.memoryLimit,
		Retries:    c.retries,
		MaxTasks:   c.maxTasks,
		MaxMemory:  c.maxMemory,
		Init:       c.init,
		Prefix:     c.prefix,
		Replace:    true,
		RingsOnly:  c.ringsOnly,
	})
	if err != nil {
		return nil, fromBackend(err)
	}
	return eng, nil
}

// Close stops the pool from taking tasks, waits for the submitted ones (streams included) to
// finish, then stops the workers. Calling it again, or after Terminate, returns nil. A stream
// counts as finished when the loop ranging over it ends: calling Close inside that loop waits
// for ever; use Terminate there, or break first. It returns what the backend reports of its
// shutdown: nil for local workers.
func (p *Pool) Close() error {
	if p.backend == nil {
		return nil
	}
	return fromBackend(p.backend.Close(false))
}

// Terminate stops the pool now: unfinished tasks fail with ErrPoolClosed, running ones are
// asked to stop and their workers killed after the grace period. It returns when every
// worker has ended. It returns what the backend reports of its shutdown: nil for local
// workers.
func (p *Pool) Terminate() error {
	if p.backend == nil {
		return nil
	}
	return fromBackend(p.backend.Close(true))
}

// Size returns the configured number of workers; for a pool on another backend, the number
// of workers serving it now.
func (p *Pool) Size() int {
	if p.size > 0 || p.backend == nil {
		return p.size
	}
	return p.backend.Live()
}

// errZeroPool is the error of a call on a Pool not made by NewPool.
var errZeroPool = fmt.Errorf("%w (a Pool must be made by NewPool)", ErrPoolClosed)

// workers is how many workers the pool's calls may count on, for sizing chunks: at least 1.
func (p *Pool) workers() int { return max(1, p.Size()) }

// Stats returns the pool's counters. It is cheap and safe for concurrent use.
func (p *Pool) Stats() Stats {
	if p.backend == nil {
		return Stats{}
	}
	s := p.backend.Stats()
	return Stats{Workers: s.Workers, Busy: s.Busy, Submitted: s.Submitted, Completed: s.Complete,
		Failed: s.Failed, WorkersRestarted: s.Restarted, Queued: s.Queued,
		Died: s.Died, TimedOut: s.TimedOut, MemoryKilled: s.MemoryKilled, Recycled: s.Recycled,
		MemoryMechanism: s.MemoryMechanism}
}
