// Package engine runs the items of jobs on a set of local worker processes: it keeps the
// workers alive (replacing the ones that die), hands them batches, reassembles what comes
// back, and enforces timeouts and cancellation. It implements internal/backend's Backend and
// reports failures in that package's terms; the root package's Pool and Process are typed
// fronts on it.
//
// Every item submitted is finished exactly once, with its output or an error, and never
// with the engine's lock held.
//
// One concept per file: the Engine and its shutdown (engine.go), jobs and the queue (job.go),
// which worker takes what (schedule.go), frames to a worker (send.go), who reads a worker's
// frames (reader.go) and what is done with them (receive.go), deaths, blame and replacements
// (death.go), TaskTimeout (timeout.go), a worker's lifecycle (proc.go). docs/DESIGN.md in the
// repository follows one call through them.
package engine

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/memlimit"
)

// Config configures an Engine.
type Config struct {
	Workers    int
	NamePrefix string // workers are NamePrefix-1, NamePrefix-2, ...; replacements go on counting
	WorkerName string // the name of the only worker, instead
	Stdout     io.Writer
	Stderr     io.Writer
	Prefix     bool // start each output line with the worker's name
	Logger     *slog.Logger
	Timeout    time.Duration       // per item; 0 for none
	Grace      time.Duration       // between asking a task to stop and killing its worker
	Retries    int                 // re-runs of an item whose worker died
	MaxTasks   int                 // recycle a worker after it ran this many items; 0 for never
	MaxMemory  int64               // recycle a worker whose resident memory is above this after a batch
	MemLimit   int64               // kill a worker over this; its item fails with a MemoryError
	Init       func() backend.Work // run on each worker before its first batch, if set
	// Replace says whether a worker that ends is replaced (a pool) or not (a Process).
	Replace bool
	// RingsOnly keeps large values in the frames even when the parent can reach a worker's
	// memory (see peermem): for tests of that way.
	RingsOnly bool
	// Depth is how many batches a worker holds at once: more hide the round trip.
	Depth int
	// GiveUp is how long an engine with no live worker tries to start one before the work
	// waiting for one fails (see replace); DefaultGiveUp if 0.
	GiveUp time.Duration
}

// DefaultGiveUp is how long a pool with no live worker tries to start one before the tasks
// waiting fail: long enough to ride out a storm of deaths, short enough that a pool whose
// workers cannot start (their binary is gone, the system is out of processes) says so.
const DefaultGiveUp = 30 * time.Second

// Engine runs jobs on worker processes: it is the local backend.Backend.
//
// Invariants:
//   - mu protects the fields below it, the fields of each proc and Job marked "guarded by
//     e.mu", and a batch's place in the queue or in a proc's inflight list.
//   - A proc's writeMu and e.mu are never held together.
//   - Work.Finish is called without e.mu held, once per item, by the goroutine that settles
//     the item (finishRange): the reader's role holder, the sender, Cancel, or death.
type Engine struct {
	cfg Config

	mu       sync.Mutex
	workers  []*proc
	queue    batchQueue
	closing  bool // no new jobs
	stopping bool // workers are being stopped; no replacements
	live     int  // workers that completed the handshake and have not died
	jobs     int  // jobs not yet released
	drained  chan struct{}
	// down is when a replacement first failed to start while no worker was live; unavailable,
	// once that has lasted cfg.GiveUp, the failure of work submitted until a worker starts.
	down        time.Time
	unavailable error
	named       int // workers named so far
	nextID      uint64

	submitted, completed, failed, restarted atomic.Int64
	died, timedOut, recycled, memKilled     atomic.Int64
	idle                                    atomic.Int32 // workers with spare capacity
	itemNanos                               atomic.Int64 // recent time per item, for queue depth
	sharedBytes                             atomic.Int64 // bytes copied outside the frames

	lim *memlimit.Limiter // enforces MemLimit, if set

	wg       sync.WaitGroup // worker goroutines
	stopTick chan struct{}
	stopOnce sync.Once
}

var _ backend.Backend = (*Engine)(nil)

// New starts cfg.Workers workers and waits for their handshakes.
func New(cfg Config) (*Engine, error) {
	if cfg.Depth < 1 {
		cfg.Depth = 2
	}
	if cfg.GiveUp <= 0 {
		cfg.GiveUp = DefaultGiveUp
	}
	e := &Engine{cfg: cfg, stopTick: make(chan struct{})}
	if cfg.MemLimit > 0 {
		lim, err := memlimit.NewLimiter(context.Background(), memlimit.Config{Limit: cfg.MemLimit,
			OnExceed: func(pid int, used, limit int64) {
				e.log("memory limit hit", "pid", pid, "used", used, "limit", limit)
			}})
		if err != nil {
			return nil, err
		}
		e.lim = lim
		e.log("memory limit", "mechanism", lim.Mechanism().String(), "limit", cfg.MemLimit,
			"cgroup_unavailable", errString(lim.CgroupErr()))
	}
	type started struct {
		w   *proc
		err error
	}
	results := make(chan started, cfg.Workers)
	for range cfg.Workers {
		name := e.nextName()
		go func() {
			w, err := e.startWorker(name)
			results <- started{w, err}
		}()
	}
	var firstErr error
	var ws []*proc
	for range cfg.Workers {
		r := <-results
		if r.err != nil && firstErr == nil {
			firstErr = r.err
		}
		if r.w != nil {
			ws = append(ws, r.w)
		}
	}
	if firstErr != nil {
		for _, w := range ws {
			w.child.Signal(syscall.SIGKILL)
			<-w.child.Done()
			w.released()
		}
		if e.lim != nil {
			e.lim.Close()
		}
		return nil, firstErr
	}
	e.mu.Lock()
	for _, w := range ws {
		e.adopt(w)
	}
	e.mu.Unlock()
	if cfg.Timeout > 0 {
		e.wg.Add(1)
		go e.watchTimeouts()
	}
	return e, nil
}

func (e *Engine) nextName() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.named++
	if e.cfg.WorkerName != "" {
		return e.cfg.WorkerName
	}
	return fmt.Sprintf("%s-%d", e.cfg.NamePrefix, e.named)
}

// adopt makes a started worker part of the engine and starts its reader. e.mu is held.
func (e *Engine) adopt(w *proc) {
	e.workers = append(e.workers, w)
	e.live++
	w.retiring = false
	e.idle.Add(1)
	e.wg.Add(1)
	go w.readLoop()
}

// Stats returns the counters now.
func (e *Engine) Stats() backend.Stats {
	e.mu.Lock()
	busy := 0
	for _, w := range e.workers {
		if len(w.inflight) > 0 {
			busy++
		}
	}
	st := backend.Stats{Workers: e.live, Busy: busy, Queued: e.queue.items}
	e.mu.Unlock()
	st.Submitted = e.submitted.Load()
	st.Complete = e.completed.Load()
	st.Failed = e.failed.Load()
	st.Restarted = e.restarted.Load()
	st.Died = e.died.Load()
	st.TimedOut = e.timedOut.Load()
	st.MemoryKilled = e.memKilled.Load()
	st.Recycled = e.recycled.Load()
	st.SharedBytes = e.sharedBytes.Load()
	if e.lim != nil {
		st.MemoryMechanism = e.lim.Mechanism().String()
	}
	return st
}

// Idle reports whether some worker could take a batch now.
func (e *Engine) Idle() bool { return e.idle.Load() > 0 }

// Live reports the number of live workers.
func (e *Engine) Live() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.live
}

// Pids returns the pids of the live workers.
func (e *Engine) Pids() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var pids []int
	for _, w := range e.workers {
		pids = append(pids, w.child.Pid)
	}
	return pids
}

// Signal sends sig to every worker's process group.
func (e *Engine) Signal(sig syscall.Signal) error {
	e.mu.Lock()
	ws := append([]*proc(nil), e.workers...)
	e.mu.Unlock()
	for _, w := range ws {
		if err := w.child.Signal(sig); err != nil {
			return err
		}
	}
	return nil
}

// closedErr is the failure of work given to, or left in, a closed engine.
func (e *Engine) closedErr() error { return backend.ErrClosed }

// Close stops taking jobs, lets the submitted work finish, then stops the workers. With
// terminate, unfinished items fail at once with the closed error instead, and running tasks
// are asked to stop, then killed after the grace period. Close returns when every worker has
// ended. It returns nil: the engine has nothing to report that the items' own failures do
// not.
func (e *Engine) Close(terminate bool) error {
	e.mu.Lock()
	e.closing = true
	var queued []*batch
	if terminate {
		queued = e.queue.removeAll()
		err := e.closedErr()
		for _, w := range e.workers {
			for _, b := range w.inflight {
				if b.job.err == nil {
					b.job.err = err
				}
			}
		}
	} else {
		for !e.stopping && (e.jobs > 0 || e.queue.len() > 0 || e.anyInflight()) {
			ch := e.drainedChan()
			e.mu.Unlock()
			<-ch
			e.mu.Lock()
		}
	}
	e.stopping = true
	ws := append([]*proc(nil), e.workers...)
	e.loadChanged()
	e.mu.Unlock()

	for _, b := range queued {
		e.finishRange(b, b.hi, e.closedErr())
	}
	var wg sync.WaitGroup
	for _, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.stop(e.cfg.Grace)
		}()
	}
	wg.Wait()
	e.stopOnce.Do(func() { close(e.stopTick) })
	e.wg.Wait()
	if e.lim != nil {
		e.lim.Close()
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func (e *Engine) anyInflight() bool {
	for _, w := range e.workers {
		if len(w.inflight) > 0 {
			return true
		}
	}
	return false
}

// drainedChan returns a channel closed at the next change of the engine's load. e.mu is held.
func (e *Engine) drainedChan() chan struct{} {
	if e.drained == nil {
		e.drained = make(chan struct{})
	}
	return e.drained
}

// loadChanged wakes Close. e.mu is held.
func (e *Engine) loadChanged() {
	if e.drained != nil {
		close(e.drained)
		e.drained = nil
	}
}

// cancelErr is the error the items of a job cancelled through ctx finish with: ctx.Err(), as
// callers test it with errors.Is (a cause set with WithCancelCause is the caller's to read).
func cancelErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return context.Canceled
}
