//go:build unix

package multiproc_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/wire"
)

// echoBackend is a backend of another kind, as a package outside this one would write it: it
// runs no function, but hands each item's encoded input back as its output (so that it suits
// a Func whose In and Out are one type), except the items fail[i] names, which fail with that.
type echoBackend struct {
	cfg    backend.Config
	fail   map[int]error
	mu     sync.Mutex
	enc    *wire.Encoder
	dec    *wire.Decoder
	closed bool
}

func (b *echoBackend) NewJob(ctx context.Context, w backend.Work) (backend.Job, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, backend.ErrClosed
	}
	return &echoJob{b: b, w: w}, nil
}

func (b *echoBackend) Close(terminate bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	return errors.New("echo: closed with a report")
}

func (b *echoBackend) Stats() backend.Stats { return backend.Stats{Workers: 3} }
func (b *echoBackend) Idle() bool           { return true }
func (b *echoBackend) Live() int            { return 3 }

type echoJob struct {
	b *echoBackend
	w backend.Work
}

func (j *echoJob) Submit(lo, hi int) {
	for i := lo; i < hi; i++ {
		if err := j.b.fail[i]; err != nil {
			j.w.Finish(i, i+1, err)
			continue
		}
		j.w.Finish(i, i+1, j.echo(i))
	}
}

// echo encodes item i's input and decodes it as its output, through one frame.
func (j *echoJob) echo(i int) error {
	b := j.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.enc.Begin(wire.KindOutputs, 0, uint64(i))
	if err := j.w.EncodeInputs(b.enc, i, i+1); err != nil {
		b.enc.Abort()
		return err
	}
	if err := b.enc.End(); err != nil {
		return err
	}
	var buf bytes.Buffer
	if _, err := b.enc.WriteTo(&buf); err != nil {
		return err
	}
	f, err := wire.NewReader(&buf, 0).Read()
	if err != nil {
		return err
	}
	b.dec.Next(f)
	return j.w.DecodeOutputs(b.dec, i, i+1)
}

func (j *echoJob) Cancel(error)                     {}
func (j *echoJob) Release()                         {}
func (j *echoJob) Expect()                          {}
func (j *echoJob) Await(done, stop <-chan struct{}) {}

func echoPool(t *testing.T, fail map[int]error, opts ...multiproc.Option) (*multiproc.Pool, *echoBackend, error) {
	t.Helper()
	var made *echoBackend
	at := backend.NewOption(func(c backend.Config) (backend.Backend, error) {
		made = &echoBackend{cfg: c, fail: fail, enc: wire.NewEncoder(), dec: wire.NewDecoder()}
		return made, nil
	}).(multiproc.Option)
	p, err := multiproc.NewPool(append([]multiproc.Option{at}, opts...)...)
	return p, made, err
}

// A pool runs on a backend made outside this package, and the failures that backend reports
// in the seam's terms reach callers as this package's errors.
func TestPoolOnAnotherBackend(t *testing.T) {
	death := backend.Death{Pid: 4242, ExitCode: -1, Signal: syscall.SIGKILL, Stderr: "boom\n"}
	fail := map[int]error{
		1: &backend.TimeoutError{After: 20 * time.Millisecond},
		2: &backend.DiedError{Death: death},
		3: &backend.MemoryError{Death: death, Limit: 1 << 20},
		4: &backend.RemoteError{Err: wire.Error{Type: "*errors.errorString", Message: "no luck"}},
		5: &backend.RemoteError{Err: wire.Error{Message: "oops", Panic: true, Stack: "goroutine 1"}},
		6: backend.ErrClosed,
		7: &backend.StartError{Death: death, Err: errors.New("no handshake"), Lasting: time.Minute},
	}
	p, b, err := echoPool(t, fail, multiproc.TaskTimeout(time.Second), multiproc.Retries(2),
		multiproc.Name("remote"))
	if err != nil {
		t.Fatal(err)
	}
	if b.cfg.TaskTimeout != time.Second || b.cfg.Retries != 2 || b.cfg.Name != "remote" ||
		b.cfg.Grace != multiproc.DefaultGracePeriod {
		t.Errorf("the backend was configured with %+v", b.cfg)
	}
	if p.Size() != 3 || p.Stats().Workers != 3 {
		t.Errorf("Size %d, Stats %+v; want the backend's 3 workers", p.Size(), p.Stats())
	}
	ctx := ctxFor(t)
	out, err := multiproc.Map(ctx, p, square, []int{7, 8}, multiproc.ChunkSize(1))
	if err == nil {
		t.Fatalf("Map = %v; want item 1's timeout", out)
	}
	if v, err := multiproc.Apply(ctx, p, square, 7); err != nil || v != 7 {
		t.Fatalf("Apply through the echo backend = %v, %v; want 7", v, err)
	}
	check := func(i int, ok func(error) bool) {
		t.Helper()
		var got error
		for r := range multiproc.ImapUnordered(ctx, p, square, func(yield func(int) bool) {
			for k := 0; k <= i; k++ {
				if !yield(k) {
					return
				}
			}
		}) {
			if r.Index == i {
				got = r.Err
			}
		}
		var te *multiproc.TaskError
		if !errors.As(got, &te) || te.Index != i || !ok(te.Err) {
			t.Errorf("item %d failed with %v", i, got)
		}
	}
	check(1, func(err error) bool {
		return errors.Is(err, multiproc.ErrTimeout) && strings.Contains(err.Error(), "20ms")
	})
	check(2, func(err error) bool {
		var we *multiproc.WorkerError
		return errors.As(err, &we) && we.Pid == 4242 && we.Signal == syscall.SIGKILL && we.Stderr == "boom\n"
	})
	check(3, func(err error) bool {
		var we *multiproc.WorkerError
		return errors.Is(err, multiproc.ErrMemoryLimit) && errors.As(err, &we) && we.Pid == 4242
	})
	check(4, func(err error) bool {
		var re *multiproc.RemoteError
		return errors.As(err, &re) && re.Message == "no luck"
	})
	check(5, func(err error) bool {
		var pe *multiproc.PanicError
		return errors.As(err, &pe) && pe.Value == "oops"
	})
	check(6, func(err error) bool { return errors.Is(err, multiproc.ErrPoolClosed) })
	check(7, func(err error) bool {
		return errors.Is(err, multiproc.ErrWorkerDied) && strings.Contains(err.Error(), "no worker could be started for 1m0s")
	})
	if err := p.Close(); err == nil || err.Error() != "echo: closed with a report" {
		t.Errorf("Close = %v; want the backend's report", err)
	}
	if _, err := multiproc.Apply(ctx, p, square, 1); !errors.Is(err, multiproc.ErrPoolClosed) {
		t.Errorf("Apply on a closed pool = %v; want ErrPoolClosed", err)
	}
}

// The options that describe local workers are refused next to another backend, and Start
// refuses a backend option.
func TestAnotherBackendRefusesLocalOptions(t *testing.T) {
	for _, opt := range []multiproc.Option{multiproc.Processes(2), multiproc.MemoryLimit(1 << 30),
		multiproc.MaxTasksPerWorker(3), multiproc.MaxWorkerMemory(1 << 30),
		multiproc.Initializer(setInit, "x")} {
		p, b, err := echoPool(t, nil, opt)
		if !errors.Is(err, multiproc.ErrInvalidOption) || p != nil || b != nil {
			t.Errorf("NewPool with a backend and %T: %v", opt, err)
		}
	}
	at := backend.NewOption(func(backend.Config) (backend.Backend, error) { return nil, errors.New("unused") })
	if _, err := multiproc.Start(ctxFor(t), square, 1, at.(multiproc.Option)); !errors.Is(err, multiproc.ErrInvalidOption) {
		t.Errorf("Start with a backend option: %v", err)
	}
	_, err := multiproc.NewPool(at.(multiproc.Option), at.(multiproc.Option))
	if !errors.Is(err, multiproc.ErrInvalidOption) {
		t.Errorf("NewPool with two backends: %v", err)
	}
}
