package multiproc

import "github.com/multiproc/multiproc/internal/engine"

// Pool is a set of worker processes that run tasks (Python's multiprocessing.Pool). Its
// methods and the functions that take it are safe for concurrent use.
type Pool struct {
	size    int
	backend backend
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
// defaults to runtime.NumCPU().
func NewPool(opts ...Option) (*Pool, error) {
	mustBeParent()
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	name := c.name
	if name == "" {
		name = "PoolWorker"
	}
	ecfg := engine.Config{
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
	}
	engineErrors(&ecfg)
	eng, err := engine.New(ecfg)
	if err != nil {
		return nil, err
	}
	return &Pool{size: c.processes, backend: localBackend{eng}}, nil
}

// Close stops the pool from taking tasks, waits for the submitted ones (streams included) to
// finish, then stops the workers. Calling it again, or after Terminate, returns nil. A stream
// counts as finished when the loop ranging over it ends: calling Close inside that loop waits
// for ever; use Terminate there, or break first.
func (p *Pool) Close() error {
	p.backend.close(false)
	return nil
}

// Terminate stops the pool now: unfinished tasks fail with ErrPoolClosed, running ones are
// asked to stop and their workers killed after the grace period. It returns when every
// worker has ended.
func (p *Pool) Terminate() error {
	p.backend.close(true)
	return nil
}

// Size returns the configured number of workers.
func (p *Pool) Size() int { return p.size }

// Stats returns the pool's counters. It is cheap and safe for concurrent use.
func (p *Pool) Stats() Stats {
	s := p.backend.stats()
	return Stats{Workers: s.Workers, Busy: s.Busy, Submitted: s.Submitted, Completed: s.Complete,
		Failed: s.Failed, WorkersRestarted: s.Restarted, Queued: s.Queued,
		Died: s.Died, TimedOut: s.TimedOut, MemoryKilled: s.MemoryKilled, Recycled: s.Recycled,
		MemoryMechanism: s.MemoryMechanism}
}
