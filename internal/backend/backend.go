// Package backend is the seam between the root package's Pool and what runs its tasks.
//
// Map, Imap, ImapUnordered, Apply and Submit know a pool only as a Backend: they cut a call's
// inputs into jobs of items, and the backend encodes, runs and reports on them. The local
// backend is internal/engine (worker processes of this machine); another backend (a cluster,
// say) implements the same interfaces and never imports the engine.
//
// # Writing a backend
//
//  1. Implement Backend and Job. NewJob takes a Work, the typed side of one call: the backend
//     calls Work.EncodeInputs to turn items lo..hi-1 into bytes (a wire.Encoder) for the
//     function Work.Func, runs them wherever it runs tasks, hands the encoded outputs to
//     Work.DecodeOutputs, and reports every item submitted exactly once through Work.Finish,
//     with a nil error or one of this package's failures. Finish is never called with a lock
//     held that Submit or Cancel take: the caller may call them from Finish.
//
//  2. Report failures in this package's terms (DiedError, TimeoutError, MemoryError,
//     RemoteError, StartError, InitError, ErrClosed), or a context error for a cancelled job:
//     the root package converts them, in one place, to the errors its callers see
//     (*multiproc.WorkerError, ErrTimeout, *multiproc.RemoteError, ...).
//
//  3. Offer it as an option: a Factory builds the Backend from the pool's Config, and
//     NewOption(factory) is a multiproc.Option (see the example below).
//
// An option that makes a pool run on a backend of one's own:
//
//	func At(url string) multiproc.Option {
//		return backend.NewOption(func(c backend.Config) (backend.Backend, error) {
//			return dial(url, c)
//		}).(multiproc.Option)
//	}
//
// multiproc.NewPool with such an option refuses, with ErrInvalidOption, the options that
// describe local worker processes (see LocalOnly); a Factory may refuse more (wrapping
// multiproc.ErrInvalidOption) but must not ignore one it was given.
package backend

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/multiproc/multiproc/internal/wire"
)

// Backend runs the jobs of one pool. Its methods are safe for concurrent use.
type Backend interface {
	// NewJob starts a job whose items are cancelled when ctx is (they finish with ctx.Err()).
	// A closed backend returns ErrClosed.
	NewJob(ctx context.Context, w Work) (Job, error)
	// Close stops taking jobs and stops the backend. Without terminate it first lets every
	// submitted item finish; with terminate, unfinished items fail at once with ErrClosed and
	// running tasks are stopped. It returns when the backend has stopped; calling it again
	// returns nil.
	Close(terminate bool) error
	Stats() Stats
	Idle() bool // whether some worker could take work now, for streams' adaptive chunks
	Live() int  // how many workers are live now
}

// Job is one call's items on a backend (a Map, a stream, an Apply), cancelled together.
type Job interface {
	Submit(lo, hi int) // run items lo..hi-1 together
	Cancel(err error)  // fail the unfinished items with err and stop the running ones
	Release()          // the caller will submit no more
	// Expect, before Submit, says the caller will wait for the result at once; Await then
	// lends the caller's goroutine to fetch it, until done or stop is closed (see Apply). A
	// backend with nothing to gain from the loan returns from Await at once.
	Expect()
	Await(done, stop <-chan struct{})
}

// Work is the typed side of a job: it encodes inputs, decodes outputs and takes results.
type Work interface {
	Func() string // the name the function was registered under
	EncodeInputs(enc *wire.Encoder, lo, hi int) error
	DecodeOutputs(dec *wire.Decoder, lo, hi int) error
	// Finish reports that items lo..hi-1 are done: their outputs were decoded (err nil), or
	// they failed with err. Each item is finished exactly once.
	Finish(lo, hi int, err error)
}

// Stats are a backend's counters at one moment.
type Stats struct {
	Workers, Busy       int   // live workers; those holding tasks
	Submitted, Complete int64 // items given to the backend; items that returned without error
	Failed, Restarted   int64 // items that ended with an error; workers replaced
	Queued              int   // items waiting for a worker

	// Restarted, by cause.
	Died, TimedOut, MemoryKilled, Recycled int64

	MemoryMechanism string // how MemoryLimit is enforced: "cgroup", "rlimit+watchdog", or ""

	// SharedBytes counts the bytes of large values copied straight between the parent's and
	// the workers' memory rather than sent in frames (see internal/peermem).
	SharedBytes int64
}

// Config is what a pool's options say to a backend other than the local one. Zero fields
// were not set.
type Config struct {
	Name        string        // the prefix of worker names (multiproc.Name)
	TaskTimeout time.Duration // per task; 0 for none
	Grace       time.Duration // between asking a task to stop and killing its worker
	Retries     int           // re-runs of a task whose worker died
	Stdout      io.Writer     // where workers' standard output goes; nil for the default
	Stderr      io.Writer     // where workers' standard error goes; nil for the default
	Prefix      bool          // start each output line with the worker's name
	Logger      *slog.Logger  // worker lifecycle events; nil for none
}

// Factory makes the Backend of a new pool.
type Factory func(Config) (Backend, error)

// NewOption makes a multiproc.Option that has NewPool run its tasks on the backend f makes.
// The root package sets it when it is initialised; the result's dynamic type is
// multiproc.Option.
var NewOption func(f Factory) any

// LocalOnly names the pool options that describe the local worker processes, which NewPool
// refuses next to a Factory: those are the business of whatever runs the tasks there.
var LocalOnly = []string{"Processes", "MemoryLimit", "MaxTasksPerWorker", "MaxWorkerMemory", "Initializer"}

// OfPool returns the Backend of a *multiproc.Pool (a program serving a cluster's tasks runs
// them on a local pool's backend, with Work that carries the encoded values through). The root
// package sets it when it is initialised.
var OfPool func(pool any) (Backend, bool)
