//go:build unix

package engine

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/multiproc/multiproc/internal/spawn"
	"github.com/multiproc/multiproc/internal/wire"
	workerloop "github.com/multiproc/multiproc/internal/worker"
)

// TestMain serves as a worker (with no functions) when the engine starts the test binary as one.
func TestMain(m *testing.M) {
	if os.Getenv(spawn.EnvWorker) != "" && os.Getenv(envFailStart) != "" {
		os.Exit(7) // a worker that cannot start
	}
	missing := errors.New("not registered")
	workerloop.Main(workerloop.Config{
		Lookup:        func(string) (workerloop.Handler, bool) { return nil, false },
		Describe:      func(err error) wire.Error { return wire.Error{Message: err.Error()} },
		NotRegistered: func(string) error { return missing },
		Timeout:       func(time.Duration) error { return missing },
	})
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/multiproc/multiproc/internal/spawn.forkThread"))
}

// A worker whose control socket reaches end of file exits by itself: besides Pdeathsig, this is
// how a worker notices that its parent is gone or has given up on it.
func TestWorkerExitsAtEndOfItsSocket(t *testing.T) {
	e, err := New(Config{Workers: 1, NamePrefix: "t", Grace: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(true)
	e.mu.Lock()
	w := e.workers[0]
	e.mu.Unlock()
	// Shut our end down for writing: the worker reads end of file, and nothing else tells it
	// to go (no Exit frame, no signal; the parent lives on).
	rc, err := w.child.Conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { syscall.Shutdown(int(fd), syscall.SHUT_WR) })
	select {
	case <-w.child.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the worker did not exit at the end of its socket")
	}
	if code, sig := w.child.Exit(); code != 0 || sig != 0 {
		t.Fatalf("the worker ended with exit code %d, signal %v; want a clean exit", code, sig)
	}
}
