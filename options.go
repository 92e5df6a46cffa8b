package multiproc

import (
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"slices"
	"time"

	"github.com/multiproc/multiproc/internal/backend"
)

// DefaultGracePeriod is how long a task asked to stop (by cancellation, TaskTimeout or
// Terminate) has to return before its worker is killed.
const DefaultGracePeriod = 500 * time.Millisecond

// Option configures NewPool and Start. An invalid value makes them return an error wrapping
// ErrInvalidOption.
type Option interface {
	apply(*config) error
}

// MapOption configures Map, Imap and ImapUnordered.
type MapOption interface {
	applyMap(*mapConfig) error
}

type config struct {
	processes   int
	timeout     time.Duration
	memoryLimit int64
	maxTasks    int
	retries     int
	stdout      io.Writer
	stderr      io.Writer
	logger      *slog.Logger
	name        string
	grace       time.Duration
	maxMemory   int64
	prefix      bool
	init        func() backend.Work // the initializer's work, made anew for each worker
	ringsOnly   bool                // large values stay in the frames (tests)
	factory     backend.Factory     // makes the pool's backend, instead of local workers
	given       []string            // the names of the options given, in order
}

// gave reports whether the option called name was given.
func (c *config) gave(name string) bool { return slices.Contains(c.given, name) }

func newConfig(opts []Option) (*config, error) {
	c := &config{processes: runtime.NumCPU(), grace: DefaultGracePeriod}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil Option", ErrInvalidOption)
		}
		if err := o.apply(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// optionFunc is an Option called name.
type optionFunc struct {
	name string
	set  func(*config) error
}

func (o optionFunc) apply(c *config) error {
	c.given = append(c.given, o.name)
	return o.set(c)
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOption}, args...)...)
}

// Processes sets the number of worker processes of a pool (default runtime.NumCPU()).
func Processes(n int) Option {
	return optionFunc{name: "Processes", set: func(c *config) error {
		if n < 1 {
			return invalid("Processes(%d): a pool needs at least 1 process", n)
		}
		c.processes = n
		return nil
	}}
}

// TaskTimeout bounds how long one task may run. At d the task's context is cancelled; a task
// still running a grace period later is killed with its worker, which is replaced. The task
// fails with ErrTimeout either way.
func TaskTimeout(d time.Duration) Option {
	return optionFunc{name: "TaskTimeout", set: func(c *config) error {
		if d <= 0 {
			return invalid("TaskTimeout(%v): must be positive", d)
		}
		c.timeout = d
		return nil
	}}
}

// MemoryLimit bounds each worker's memory: a worker over it is killed, its task fails with
// ErrMemoryLimit (a *WorkerError whose Cause is it), the worker is replaced, and the others are
// untouched. Where a writable cgroup v2 with the memory controller is at hand, each worker
// starts in a cgroup of its own whose memory.max is the limit; elsewhere the worker lowers its
// own RLIMIT_DATA to the limit and sets its GC limit (GOMEMLIMIT) just under it, and the parent
// samples each worker's private resident memory every 50ms and kills one over the limit.
// Stats().MemoryMechanism, and a line to Logger, say which is in force. Under the race
// detector a worker needs several times more memory. Default: no limit.
func MemoryLimit(bytes int64) Option {
	return optionFunc{name: "MemoryLimit", set: func(c *config) error {
		if bytes <= 0 {
			return invalid("MemoryLimit(%d): must be positive", bytes)
		}
		c.memoryLimit = bytes
		return nil
	}}
}

// MaxTasksPerWorker recycles a pool's worker after it has run n tasks (Python's
// maxtasksperchild). Its replacement is started when the worker takes its last task, so that
// it is ready when the old one leaves. Default: never.
func MaxTasksPerWorker(n int) Option {
	return optionFunc{name: "MaxTasksPerWorker", set: func(c *config) error {
		if n < 1 {
			return invalid("MaxTasksPerWorker(%d): must be at least 1", n)
		}
		c.maxTasks = n
		return nil
	}}
}

// MaxWorkerMemory recycles a pool's worker, between tasks, when its resident memory is over
// bytes (like billiard's max_memory_per_child): a leaky task's worker is replaced before it
// grows without bound. Unlike MemoryLimit it never interrupts a task. Default: never.
func MaxWorkerMemory(bytes int64) Option {
	return optionFunc{name: "MaxWorkerMemory", set: func(c *config) error {
		if bytes <= 0 {
			return invalid("MaxWorkerMemory(%d): must be positive", bytes)
		}
		c.maxMemory = bytes
		return nil
	}}
}

// Initializer runs f(arg) once in each worker of a pool before its first task (Python's
// initializer and initargs), to open a connection or load a model, say. If it fails, NewPool
// returns its error; when a replacement worker's initializer fails, the task it was started
// for fails with that error.
func Initializer[In any](f *Func[In, struct{}], arg In) Option {
	return optionFunc{name: "Initializer", set: func(c *config) error {
		if err := f.usable(); err != nil {
			return invalid("Initializer: %v", err)
		}
		c.init = func() backend.Work {
			return &oneWork[In, struct{}]{f: f, in: arg, fut: &Future[struct{}]{done: make(chan struct{})}}
		}
		return nil
	}}
}

// OutputPrefix, when on, starts each line a pool's workers write to Stdout and Stderr with the
// worker's name in brackets ("[PoolWorker-1] "). Output goes to the writers line by line either
// way; a task's partial last line is written before its result is delivered.
func OutputPrefix(on bool) Option {
	return optionFunc{name: "OutputPrefix", set: func(c *config) error {
		c.prefix = on
		return nil
	}}
}

// Retries re-runs a task whose worker died, up to n times, on another worker. Errors a task
// returns, panics and timeouts are not retried. Default 0. Workers that fail to start cost no
// retry: the task waits for one that starts (see "Failures" in the package documentation).
func Retries(n int) Option {
	return optionFunc{name: "Retries", set: func(c *config) error {
		if n < 0 {
			return invalid("Retries(%d): must not be negative", n)
		}
		c.retries = n
		return nil
	}}
}

// Stdout sets where workers' standard output goes (default: the parent's, shared directly).
// What a task wrote before it returned reaches w before the caller sees the task's result.
func Stdout(w io.Writer) Option {
	return optionFunc{name: "Stdout", set: func(c *config) error {
		if w == nil {
			return invalid("Stdout(nil)")
		}
		c.stdout = w
		return nil
	}}
}

// Stderr sets where workers' standard error goes (default: the parent's). The end of it is
// kept either way for *WorkerError.
func Stderr(w io.Writer) Option {
	return optionFunc{name: "Stderr", set: func(c *config) error {
		if w == nil {
			return invalid("Stderr(nil)")
		}
		c.stderr = w
		return nil
	}}
}

// Logger receives worker lifecycle events (started, exited, replaced, timed out). Silent by
// default.
func Logger(l *slog.Logger) Option {
	return optionFunc{name: "Logger", set: func(c *config) error {
		if l == nil {
			return invalid("Logger(nil)")
		}
		c.logger = l
		return nil
	}}
}

// Name names a process ("Process-N" by default), or sets the prefix of a pool's worker names
// ("PoolWorker" by default: PoolWorker-1, PoolWorker-2, ...).
func Name(name string) Option {
	return optionFunc{name: "Name", set: func(c *config) error {
		if name == "" {
			return invalid("Name(\"\")")
		}
		c.name = name
		return nil
	}}
}

// GracePeriod sets how long a task asked to stop (by cancellation, TaskTimeout, Terminate) has
// before its worker is killed. Default DefaultGracePeriod.
func GracePeriod(d time.Duration) Option {
	return optionFunc{name: "GracePeriod", set: func(c *config) error {
		if d <= 0 {
			return invalid("GracePeriod(%v): must be positive", d)
		}
		c.grace = d
		return nil
	}}
}

type mapConfig struct {
	chunkSize int // 0: automatic
	progress  io.Writer
}

func newMapConfig(opts []MapOption) (*mapConfig, error) {
	c := &mapConfig{}
	for _, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: nil MapOption", ErrInvalidOption)
		}
		if err := o.applyMap(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

type mapOptionFunc func(*mapConfig) error

func (f mapOptionFunc) applyMap(c *mapConfig) error { return f(c) }

// ChunkSize sets how many inputs are sent to a worker at once. By default Map uses about
// len(inputs)/(4·workers), like Python; streams adapt: while a worker is idle each input goes
// at once, and inputs that arrive while all are busy travel together.
func ChunkSize(n int) MapOption {
	return mapOptionFunc(func(c *mapConfig) error {
		if n < 1 {
			return invalid("ChunkSize(%d): must be at least 1", n)
		}
		c.chunkSize = n
		return nil
	})
}

// Progress reports the progress of a Map, Imap or ImapUnordered on w: a live bar (done/total,
// rate, ETA) when w is a terminal, otherwise a plain line every few seconds and one at the end.
func Progress(w io.Writer) MapOption {
	return mapOptionFunc(func(c *mapConfig) error {
		if w == nil {
			return invalid("Progress(nil)")
		}
		c.progress = w
		return nil
	})
}
