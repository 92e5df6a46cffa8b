package multiproc

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/multiproc/multiproc/internal/engine"
)

// Process is a function running in a worker process of its own (Python's
// multiprocessing.Process). Its methods are safe for concurrent use.
type Process[Out any] struct {
	name  string
	pid   int
	grace time.Duration
	eng   *engine.Engine
	fut   *Future[Out]
	ended chan struct{} // the result is known and the process has exited
}

// poolOnly names the options that Start refuses.
var poolOnly = []string{"Processes", "MaxTasksPerWorker", "MaxWorkerMemory", "Initializer", "Retries", backendOption}

// processCount numbers the processes Start makes in this process.
var processCount atomic.Int64

// Start runs f(in) in a new worker process. Cancelling ctx stops it: cooperatively through the
// task's ctx first, then, after the grace period, by kill.
//
// Of the options, Processes, MaxTasksPerWorker, MaxWorkerMemory, Initializer, Retries and
// backend options (cluster.At) apply only to pools: Start refuses them with ErrInvalidOption.
func Start[In, Out any](ctx context.Context, f *Func[In, Out], in In, opts ...Option) (*Process[Out], error) {
	mustBeParent()
	c, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	for _, name := range poolOnly {
		if c.gave(name) {
			return nil, invalid("%s applies to pools, not to Start", name)
		}
	}
	if err := f.usable(); err != nil {
		return nil, err
	}
	name := c.name
	if name == "" {
		name = fmt.Sprintf("Process-%d", processCount.Add(1))
	}
	ecfg := engine.Config{
		Workers:    1,
		WorkerName: name,
		Stdout:     c.stdout,
		Stderr:     c.stderr,
		Logger:     c.logger,
		Timeout:    c.timeout,
		Grace:      c.grace,
		MemLimit:   c.memoryLimit,
	}
	eng, err := engine.New(ecfg)
	if err != nil {
		return nil, fromBackend(err)
	}
	p := &Process[Out]{name: name, pid: eng.Pids()[0], grace: c.grace, eng: eng,
		fut: &Future[Out]{done: make(chan struct{})}, ended: make(chan struct{})}
	job, err := eng.NewJob(ctx, &oneWork[In, Out]{f: f, in: in, fut: p.fut})
	if err != nil {
		eng.Close(true)
		return nil, fromBackend(err)
	}
	p.fut.job = job
	job.Submit(0, 1)
	go func() {
		<-p.fut.done
		eng.Close(false) // the worker is told to exit, and waited for
		close(p.ended)
	}()
	return p, nil
}

// Wait waits for the process to end and returns the result of f (Python's join). A process that
// ends without f returning (Terminate, Kill, a signal, os.Exit) makes Wait return a
// *WorkerError. ctx bounds only the waiting: when it ends first, Wait returns ctx.Err() and the
// process goes on.
func (p *Process[Out]) Wait(ctx context.Context) (Out, error) {
	select {
	case <-p.ended:
		return p.fut.out, p.fut.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

// Done is closed when the process has ended and its result is known.
func (p *Process[Out]) Done() <-chan struct{} { return p.ended }

// Pid returns the process id.
func (p *Process[Out]) Pid() int { return p.pid }

// Name returns the process's name: "Process-1", "Process-2", ... unless Name(...) was given.
func (p *Process[Out]) Name() string { return p.name }

// Terminate sends SIGTERM to the process (and its process group), then SIGKILL if it is still
// running after the grace period. It does not wait; Wait does.
func (p *Process[Out]) Terminate() error {
	if err := p.eng.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	go func() {
		t := time.NewTimer(p.grace)
		defer t.Stop()
		select {
		case <-p.ended:
		case <-t.C:
			p.eng.Signal(syscall.SIGKILL)
		}
	}()
	return nil
}

// Kill sends SIGKILL to the process and its process group.
func (p *Process[Out]) Kill() error { return p.eng.Signal(syscall.SIGKILL) }
