//go:build unix

package multiproc_test

import (
	"context"
	"errors"
	"os"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/shm"
	"github.com/multiproc/multiproc/internal/testpoll"
)

// Tests that sharing leaves nothing behind: no names, no descriptors, no mappings, whatever
// ends the processes.

// sharedMappings returns the lines of the worker's /proc/self/maps that name a file under
// /dev/shm or /tmp, once it has mapped the handles it was given.
var sharedMappings = multiproc.Register("sharing.maps", func(ctx context.Context, s shared) ([]string, error) {
	s.Count.Add(1)
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	exe, _ := os.Executable() // a test binary lives under /tmp
	var named []string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasSuffix(line, exe) {
			continue
		}
		if strings.Contains(line, "/dev/shm") || strings.Contains(line, "/tmp") || strings.Contains(line, os.TempDir()) {
			named = append(named, line)
		}
	}
	return named, nil
})

// openFiles returns the number of the worker's open descriptors, after a collection has
// let go of the handles tasks dropped.
var openFiles = multiproc.Register("sharing.openFiles", func(ctx context.Context, _ int) (int, error) {
	return settledFDs()
})

// useAndDrop adds to the Value and reads the array, then drops them.
var useAndDrop = multiproc.Register("sharing.useAndDrop", func(ctx context.Context, s shared) (int64, error) {
	n := s.Count.Add(1) + s.Array.Slice()[0]
	return n, s.Array.Close()
})

func countFDs() (int, error) {
	dir := "/proc/self/fd"
	if runtime.GOOS != "linux" {
		dir = "/dev/fd"
	}
	ents, err := os.ReadDir(dir)
	return len(ents), err
}

// settledFDs counts the open descriptors once collections have let go of the handles dropped:
// cleanups run after a collection, on a goroutine of their own.
func settledFDs() (int, error) {
	last := -1
	for range 100 {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
		n, err := countFDs()
		if err != nil || n == last {
			return n, err
		}
		last = n
	}
	return last, nil
}

func TestNoNamesAndNothingLeftBehind(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/PID/maps")
	}
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	s := newShared(t, 1<<16)
	named, err := multiproc.Apply(ctx, p, sharedMappings, s)
	if err != nil {
		t.Fatal(err)
	}
	if shm.Kind != "memfd" {
		// An unlinked file: its mapping shows the name it had, marked deleted.
		named = slices.DeleteFunc(named, func(line string) bool { return strings.HasSuffix(line, "(deleted)") })
	}
	if len(named) > 0 {
		t.Fatalf("the worker maps files with names:\n%s", strings.Join(named, "\n"))
	}
	if s.Count.Load() != 1 {
		t.Fatal("the worker did not use the handles")
	}
}

func TestNoDescriptorLeaks(t *testing.T) {
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	cycle := func(i int) {
		s := newSharedNoCleanup(t)
		got, err := multiproc.Apply(ctx, p, useAndDrop, s)
		if err != nil {
			t.Fatal(err)
		}
		if got != 1+7 {
			t.Fatalf("cycle %d: the worker saw %d", i, got)
		}
		s.Array.Close()
	}
	for i := range 20 { // warm up: the pool's own descriptors, the links' goroutines
		cycle(i)
	}
	settle := func() (parent, worker int) {
		parent, err := settledFDs()
		if err != nil {
			t.Fatal(err)
		}
		if worker, err = multiproc.Apply(ctx, p, openFiles, 0); err != nil {
			t.Fatal(err)
		}
		return parent, worker
	}
	parent0, worker0 := settle()
	for i := range 1000 {
		cycle(i)
	}
	parent1, worker1 := settle()
	t.Logf("descriptors: parent %d → %d, worker %d → %d", parent0, parent1, worker0, worker1)
	if parent1 > parent0+5 || worker1 > worker0+5 {
		t.Fatalf("1000 cycles of making, passing and dropping handles leaked descriptors: parent %d → %d, worker %d → %d",
			parent0, parent1, worker0, worker1)
	}
}

// newSharedNoCleanup is newShared whose array the caller closes.
func newSharedNoCleanup(t *testing.T) shared {
	v, err := multiproc.NewValue[int64](0)
	if err != nil {
		t.Fatal(err)
	}
	l, err := multiproc.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	a, err := multiproc.NewSharedArray[int64](4)
	if err != nil {
		t.Fatal(err)
	}
	a.Slice()[0] = 7
	return shared{Count: v, Lock: l, Array: a}
}

// shareAndHang makes handles, passes them to a pool of its own, stores that pool's
// worker's pid in Ready, and waits to be killed.
var shareAndHang = multiproc.Register("sharing.shareAndHang", func(ctx context.Context, ready *multiproc.Value[int64]) (struct{}, error) {
	v, _ := multiproc.NewValue[int64](0)
	l, _ := multiproc.NewLock()
	a, err := multiproc.NewSharedArray[int64](1 << 20)
	if err != nil {
		return struct{}{}, err
	}
	p, err := multiproc.NewPool(multiproc.Processes(1))
	if err != nil {
		return struct{}{}, err
	}
	defer p.Terminate()
	pid, err := multiproc.Apply(ctx, p, touchShared, shared{Count: v, Lock: l, Array: a})
	if err != nil {
		return struct{}{}, err
	}
	l.Lock(ctx)
	ready.Store(int64(pid))
	<-ctx.Done()
	return struct{}{}, nil
})

// namedShared lists the entries of /dev/shm and the temporary directory that this package
// could have made.
func namedShared() []string {
	var names []string
	for _, dir := range []string{"/dev/shm", os.TempDir()} {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.Contains(e.Name(), "multiproc") {
				names = append(names, dir+"/"+e.Name())
			}
		}
	}
	return names
}

func TestNothingLeftAfterSIGKILLOfProcessGroup(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	before := namedShared()
	ready, _ := multiproc.NewValue[int64](0)
	proc, err := multiproc.Start(ctx, shareAndHang, ready)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the handles shared with a grandchild", func() bool { return ready.Load() != 0 })
	grandchild := int(ready.Load())
	if err := syscall.Kill(-proc.Pid(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := proc.Wait(ctx); err == nil {
		t.Fatal("the killed process succeeded")
	}
	eventually(t, 10*time.Second, "the grandchild gone", func() bool {
		return syscall.Kill(grandchild, 0) == syscall.ESRCH
	})
	if after := namedShared(); len(after) > len(before) {
		t.Fatalf("names left behind: before %v, after %v", before, after)
	}
}

func TestHandlesFromWorkerDroppedLeakNothing(t *testing.T) {
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	cycle := func() {
		s, err := multiproc.Apply(ctx, p, makeShared, 3)
		if err != nil {
			t.Fatal(err)
		}
		if s.Count.Load() != 3 || s.Array.Slice()[2] != 6 {
			t.Fatal("the handles from the worker read wrong")
		}
		s.Array.Close()
	}
	for range 20 {
		cycle()
	}
	parent0, _ := settledFDs()
	worker0, err := multiproc.Apply(ctx, p, openFiles, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 300 {
		cycle()
	}
	parent1, _ := settledFDs()
	worker1, err := multiproc.Apply(ctx, p, openFiles, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("descriptors: parent %d → %d, worker %d → %d", parent0, parent1, worker0, worker1)
	if parent1 > parent0+5 || worker1 > worker0+5 {
		t.Fatalf("handles made in a worker, returned and dropped leaked descriptors: parent %d → %d, worker %d → %d",
			parent0, parent1, worker0, worker1)
	}
}

// A handle whose last use is a call that blocks stays mapped until the call returns, however
// often the collector runs meanwhile.
func TestHandleInUseIsNotCollected(t *testing.T) {
	t.Parallel()
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				time.Sleep(time.Millisecond)
			}
		}
	}()
	for range 5 {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		e, err := multiproc.NewEvent()
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Wait = %v", err)
		}
		l, err := multiproc.NewLock()
		if err != nil {
			t.Fatal(err)
		}
		l.Lock(ctx)
		if err := l.Lock(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock = %v", err)
		}
		cancel()
	}
}

var readArray = multiproc.Register("sharing.readArray", func(ctx context.Context, a *multiproc.SharedArray[byte]) (int, error) {
	n := 0
	for _, b := range a.Slice() {
		n += int(b)
	}
	return n, nil
})

// sharedMapped returns how many mappings of shared objects the worker has, once
// collections have let go of the handles its tasks dropped.
var sharedMapped = multiproc.Register("sharing.sharedMapped", func(ctx context.Context, _ int) (int, error) {
	if _, err := settledFDs(); err != nil {
		return 0, err
	}
	b, err := os.ReadFile("/proc/self/maps")
	return strings.Count(string(b), "memfd:multiproc"), err
})

// A worker that receives a new SharedArray for every task, and drops it, does not keep their
// memory mapped.
func TestSharedArraysDroppedInWorkerAreUnmapped(t *testing.T) {
	if runtime.GOOS != "linux" || shm.Kind != "memfd" {
		t.Skip("reads /proc/PID/maps for memfds")
	}
	t.Parallel()
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	for i := range 100 {
		a, err := multiproc.NewSharedArray[byte](1 << 20)
		if err != nil {
			t.Fatal(err)
		}
		a.Slice()[i] = 1
		if n, err := multiproc.Apply(ctx, p, readArray, a); err != nil || n != 1 {
			t.Fatalf("the worker read %d, %v", n, err)
		}
		a.Close()
	}
	// Collections and their cleanups may lag on a busy machine: ask until they have run.
	var n int
	var err error
	testpoll.Until(10*time.Second, func() bool {
		n, err = multiproc.Apply(ctx, p, sharedMapped, 0)
		return err != nil || n <= 10
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the worker maps %d shared objects after 100 tasks with an array each", n)
	if n > 10 {
		t.Fatalf("the worker keeps %d arrays mapped that its tasks dropped", n)
	}
}

// linkServers counts, in a worker that never shared anything, the goroutines serving handle
// links after it ran a pool of its own.
var linkServers = multiproc.Register("sharing.linkServers", func(ctx context.Context, _ int) (int, error) {
	p, err := multiproc.NewPool(multiproc.Processes(2))
	if err != nil {
		return 0, err
	}
	defer p.Close()
	if _, err := multiproc.Map(ctx, p, square, []int{1, 2, 3, 4}); err != nil {
		return 0, err
	}
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	return strings.Count(stacks, "internal/handle.(*link).serve"), nil
})

// A program that never shares a handle runs no goroutine for them.
func TestNoSharingNoGoroutines(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	proc, err := multiproc.Start(ctx, linkServers, 0)
	if err != nil {
		t.Fatal(err)
	}
	n, err := proc.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("a process that never shared runs %d goroutines serving handle links", n)
	}
}
