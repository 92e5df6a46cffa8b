//go:build unix

package multiproc_test

import (
	"context"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/memlimit"
	"github.com/multiproc/multiproc/internal/testpoll"
)

var bulkPid = multiproc.Register("test.bulkPid", func(_ context.Context, b []byte) (int, error) {
	return os.Getpid(), nil
})

var heapHeld = multiproc.Register("test.heapHeld", func(_ context.Context, _ int) (int64, error) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapSys - ms.HeapReleased), nil
})

// raceBuild says the test binary, and so every worker, runs under the race detector, whose
// shadow of memory the heap has given back stays resident.
var raceBuild = func() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}()

// workerMemory is the memory worker pid holds: its resident set, or under the race detector
// the heap's own count of what it holds from the system (a call to the worker).
func workerMemory(ctx context.Context, p *multiproc.Pool, pid int) (int64, error) {
	if raceBuild {
		return multiproc.Apply(ctx, p, heapHeld, 0)
	}
	return memlimit.RSS(pid)
}

// oneWorker returns a pool of one worker, its pid, and the memory it holds after a first tiny
// call.
func oneWorker(t *testing.T, ctx context.Context) (p *multiproc.Pool, pid int, base int64) {
	t.Helper()
	p = newPool(t, multiproc.Processes(1))
	pid, err := multiproc.Apply(ctx, p, bulkPid, []byte{1})
	if err != nil {
		t.Fatal(err)
	}
	if base, err = workerMemory(ctx, p, pid); err != nil {
		t.Fatal(err)
	}
	return p, pid, base
}

// givesBack waits until worker pid, idle after what, holds less than 32 MiB more than base.
func givesBack(t *testing.T, ctx context.Context, p *multiproc.Pool, pid int, base int64, what string) {
	t.Helper()
	var rss int64
	var err error
	if !testpoll.Until(20*time.Second, func() bool {
		rss, err = workerMemory(ctx, p, pid)
		return err != nil || rss < base+32<<20
	}) {
		t.Fatalf("idle worker still at %d MiB 20 s after %s (%d MiB before it)", rss>>20, what, base>>20)
	}
	if err != nil {
		t.Fatal(err)
	}
}

// After a 100 MiB input, a worker holds no buffers of that size for inputs ahead, answers tiny
// calls at once, and gives the memory back once idle.
func TestIdleWorkerAfterLargeInput(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	p, pid, base := oneWorker(t, ctx)
	if got, err := multiproc.Apply(ctx, p, bulkPid, make([]byte, 100<<20)); err != nil || got != pid {
		t.Fatalf("a 100 MiB input: %d, %v (worker %d)", got, err, pid)
	}
	// Buffers offered ahead were made resident while the worker had nothing to read, holding
	// up the next calls: 4 of 100 MiB took 180 ms here, seconds on a busy machine.
	tiny, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for i := range 20 {
		if _, err := multiproc.Apply(tiny, p, bulkPid, []byte{1}); err != nil {
			t.Fatalf("tiny call %d after the large input: %v", i, err)
		}
	}
	rss, err := workerMemory(ctx, p, pid)
	if err != nil {
		t.Fatal(err)
	}
	// The input and the pieces it was read in (about 190 MiB) are garbage by now; buffers
	// of its size offered for 4 inputs ahead would add 400 MiB.
	if grown := rss - base; grown > 320<<20 {
		t.Errorf("after the large input the worker has grown by %d MiB", grown>>20)
	}
	givesBack(t, ctx, p, pid, base, "a 100 MiB input")
}

// largeText travels by gob: a struct, not a []byte.
type largeText struct{ S string }

var gobEcho = multiproc.Register("test.gobEcho", func(_ context.Context, in largeText) (largeText, error) {
	return largeText{S: in.S + "."}, nil
})

// After a 48 MiB value and a 48 MiB result that travel by gob, an idle worker gives the
// memory back: neither its gob decoder nor its encoder keeps the large message.
func TestIdleWorkerAfterLargeGobValue(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	p, pid, base := oneWorker(t, ctx)
	in := largeText{S: string(make([]byte, 48<<20))}
	out, err := multiproc.Apply(ctx, p, gobEcho, in)
	if err != nil || len(out.S) != len(in.S)+1 {
		t.Fatalf("a 48 MiB gob value: %d bytes back, %v", len(out.S), err)
	}
	givesBack(t, ctx, p, pid, base, "a 48 MiB gob value")
}
