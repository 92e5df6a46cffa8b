package multiproc

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/multiproc/multiproc/internal/footprint"
	"github.com/multiproc/multiproc/internal/memlimit"
	"github.com/multiproc/multiproc/internal/ring"
	"github.com/multiproc/multiproc/internal/spawn"
	"github.com/multiproc/multiproc/internal/wire"
	"github.com/multiproc/multiproc/internal/worker"
)

// mainCalled is set by Main: a Func registered afterwards cannot exist in workers.
var mainCalled atomic.Bool

// Main must be the first statement of main (and of TestMain). In a worker process it serves
// tasks and exits; in the parent it returns at once. It is Go's
// `if __name__ == "__main__":`.
func Main() {
	mainCalled.Store(true)
	version := os.Getenv(spawn.EnvWorker)
	if version == "" {
		return
	}
	if version != strconv.Itoa(wire.Version) {
		fmt.Fprintf(os.Stderr, "multiproc: worker protocol %s, this binary speaks %d\n", version, wire.Version)
		os.Exit(3)
	}
	name := os.Getenv(spawn.EnvName)
	for _, k := range []string{spawn.EnvWorker, spawn.EnvName, spawn.EnvIdentity, spawn.EnvParent} {
		os.Unsetenv(k)
	}
	// Before anything allocates much: RLIMIT_DATA and the GC's limit, when MemoryLimit is set.
	if _, err := memlimit.ApplyFromEnv(); err != nil {
		fmt.Fprintln(os.Stderr, "multiproc:", err)
		os.Exit(3)
	}
	current = Info{Name: name, Pid: os.Getpid(), ParentPid: os.Getppid(), IsWorker: true}
	page, err := spawn.MapStatus(spawn.StatusFD)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	rings, err := ring.Open(spawn.RingsFD)
	if err != nil {
		fmt.Fprintln(os.Stderr, "multiproc:", err)
		os.Exit(3)
	}
	// Start-up is over: drop the pages of code and read-only data it alone used (they are
	// shared with the parent; the ones tasks use come back at a minor fault each).
	footprint.Trim()
	conn, err := spawn.OpenConn()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	worker.Serve(worker.Config{
		Conn:     conn,
		Rings:    rings,
		Status:   wire.NewStatus(page),
		Peer:     spawn.PeerTable(page),
		Identity: spawn.Identity(),
		Lookup:   lookup,
		Describe: describe,
		NotRegistered: func(name string) error {
			return &notRegisteredError{name}
		},
		Timeout: func(d time.Duration) error { return &timeoutError{d} },
	})
}

// mustBeParent stops a worker whose program forgot Main before it starts workers of its own.
func mustBeParent() {
	if !mainCalled.Load() && os.Getenv(spawn.EnvWorker) != "" {
		spawn.FailNoMain()
	}
}

// Func is a registered function that worker processes can run.
type Func[In, Out any] struct {
	name string
	fn   func(ctx context.Context, in In) (Out, error)
	late bool // registered after Main: workers do not have it

	checkOnce sync.Once
	checkErr  error
	in        wire.Codec[In]
	out       wire.Codec[Out]
}

var registry = struct {
	sync.RWMutex
	m map[string]worker.Handler
}{m: make(map[string]worker.Handler)}

// Register makes fn runnable in worker processes under name. Call it at package level
// (var square = multiproc.Register("square", ...)) so that every process of the binary has it
// before Main runs. A duplicate name panics. A Func registered after Main cannot exist in
// workers: calling it returns ErrNotRegistered.
//
// In and Out travel between processes with encoding/gob (exported fields); a type that cannot
// travel is reported, naming it, when the Func is first used.
func Register[In, Out any](name string, fn func(ctx context.Context, in In) (Out, error)) *Func[In, Out] {
	if name == "" || fn == nil {
		panic("multiproc: Register needs a name and a function")
	}
	f := &Func[In, Out]{name: name, fn: fn, late: mainCalled.Load()}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[name]; dup {
		panic(fmt.Sprintf("multiproc: Register called twice for %q", name))
	}
	registry.m[name] = handler[In, Out]{f}
	return f
}

// Name returns the name f was registered under.
func (f *Func[In, Out]) Name() string { return f.name }

// usable reports why f cannot run in workers, if it cannot.
func (f *Func[In, Out]) usable() error {
	if f == nil {
		return fmt.Errorf("%w: nil *Func", ErrNotRegistered)
	}
	if f.late {
		return fmt.Errorf("%w: %q was registered after multiproc.Main ran, so worker processes "+
			"do not have it; register it at package level", ErrNotRegistered, f.name)
	}
	f.checkOnce.Do(func() {
		if f.in, f.checkErr = wire.NewCodec[In](f.name, "input"); f.checkErr != nil {
			return
		}
		f.out, f.checkErr = wire.NewCodec[Out](f.name, "output")
	})
	return f.checkErr
}

func lookup(name string) (worker.Handler, bool) {
	registry.RLock()
	defer registry.RUnlock()
	h, ok := registry.m[name]
	return h, ok
}

// handler runs a Func's batches in a worker.
type handler[In, Out any] struct{ f *Func[In, Out] }

func (h handler[In, Out]) DecodeBatch(dec *wire.Decoder, count int) (worker.Batch, error) {
	if err := h.f.usable(); err != nil {
		return nil, err
	}
	b := &runBatch[In, Out]{f: h.f, ins: make([]In, count), outs: make([]Out, count)}
	if err := h.f.in.Decode(dec, b.ins); err != nil {
		return nil, err
	}
	return b, nil
}

type runBatch[In, Out any] struct {
	f    *Func[In, Out]
	ins  []In
	outs []Out
}

func (b *runBatch[In, Out]) Run(ctx context.Context, i int) error {
	out, err := b.f.fn(ctx, b.ins[i])
	var zero In
	b.ins[i] = zero // let the input go as soon as it is used
	b.outs[i] = out
	return err
}

func (b *runBatch[In, Out]) EncodeOutputs(enc *wire.Encoder, lo, hi int) error {
	return b.f.out.Encode(enc, b.outs[lo:hi])
}
