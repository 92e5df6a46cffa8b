package engine

import (
	"context"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/testpoll"
	"github.com/multiproc/multiproc/internal/wire"
)

// envFailStart makes the test binary, started as a worker, exit before its handshake.
const envFailStart = "MULTIPROC_ENGINE_TEST_FAIL_START"

// testWork is work for a function no test worker has: each item, once run, fails with a
// RemoteError. It records how each item finished.
type testWork struct {
	mu   sync.Mutex
	errs map[int]error
	done chan struct{} // closed when n items have finished
	n    int
}

func newTestWork(n int) *testWork {
	return &testWork{errs: make(map[int]error), done: make(chan struct{}), n: n}
}

func (w *testWork) Func() string { return "unregistered" }

func (w *testWork) EncodeInputs(enc *wire.Encoder, lo, hi int) error {
	return enc.Value(make([]int, hi-lo))
}

func (w *testWork) DecodeOutputs(dec *wire.Decoder, lo, hi int) error { return dec.Skip() }

func (w *testWork) Finish(lo, hi int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := lo; i < hi; i++ {
		w.errs[i] = err
	}
	if len(w.errs) == w.n {
		close(w.done)
	}
}

func (w *testWork) err(i int) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.errs[i]
}

func (w *testWork) finished() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// wait waits for the work's items to finish, failing the test after a deadline.
func (w *testWork) wait(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(within):
		t.Fatalf("items not finished within %v", within)
	}
}

// run submits n items as one job and returns their work.
func run(t *testing.T, e *Engine, n int) *testWork {
	t.Helper()
	w := newTestWork(n)
	j, err := e.NewJob(context.Background(), w)
	if err != nil {
		t.Fatal(err)
	}
	j.Submit(0, n)
	j.Release()
	return w
}

// killAll kills the engine's live workers.
func killAll(e *Engine) {
	e.mu.Lock()
	ws := append([]*proc(nil), e.workers...)
	e.mu.Unlock()
	for _, w := range ws {
		w.child.Signal(syscall.SIGKILL)
	}
}

func isRemote(err error) bool { return errors.As(err, new(*backend.RemoteError)) }

// A replacement that fails to start is started again, and the work waiting for it waits: a
// storm of deaths is no reason to fail tasks.
func TestFailedStartsAreRetried(t *testing.T) {
	e, err := New(Config{Workers: 1, NamePrefix: "t", Grace: time.Second, Replace: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(true)
	t.Setenv(envFailStart, "1")
	killAll(e)
	testpoll.Wait(t, 10*time.Second, "the worker's death", func() bool { return e.Live() == 0 })
	w := run(t, e, 3)
	testpoll.Wait(t, 10*time.Second, "replacements failing to start", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.named >= 3 // t-2 failed, t-3 is the next try
	})
	if w.finished() {
		t.Fatalf("work failed while replacements could not start: %v", w.err(0))
	}
	os.Unsetenv(envFailStart)
	w.wait(t, 20*time.Second)
	for i := range 3 {
		if !isRemote(w.err(i)) {
			t.Fatalf("item %d finished with %v; want it run (a RemoteError)", i, w.err(i))
		}
	}
}

// An engine that cannot start any worker for GiveUp fails the work waiting, with a StartError
// that says for how long, and the work submitted after at once; it goes on trying, and
// recovers when a worker starts.
func TestGivesUpWhenNoWorkerCanStart(t *testing.T) {
	const giveUp = 300 * time.Millisecond
	e, err := New(Config{Workers: 1, NamePrefix: "t", Grace: time.Second, Replace: true, GiveUp: giveUp})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(true)
	t.Setenv(envFailStart, "1")
	killAll(e)
	testpoll.Wait(t, 10*time.Second, "the worker's death", func() bool { return e.Live() == 0 })
	w := run(t, e, 2)
	w.wait(t, 20*time.Second)
	var se *backend.StartError
	if !errors.As(w.err(0), &se) || se.Lasting < giveUp || se.Death.ExitCode != 7 {
		t.Fatalf("waiting work failed with %v; want a StartError lasting %v or more, exit code 7", w.err(0), giveUp)
	}
	if w2 := run(t, e, 1); !w2.finished() || !errors.As(w2.err(0), &se) {
		t.Fatalf("work submitted after giving up: finished %v with %v; want a StartError at once", w2.finished(), w2.err(0))
	}
	os.Unsetenv(envFailStart)
	testpoll.Wait(t, 20*time.Second, "a worker to start again", func() bool { return e.Live() == 1 })
	w3 := run(t, e, 1)
	w3.wait(t, 20*time.Second)
	if !isRemote(w3.err(0)) {
		t.Fatalf("after recovering: %v; want the item run", w3.err(0))
	}
}
