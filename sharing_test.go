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
)

// Tests of the objects shared between processes, with real processes and real signals.

var (
	// lockAndDie locks the Lock, then the process kills itself holding it.
	lockAndDie = multiproc.Register("sharing.lockAndDie", func(ctx context.Context, l *multiproc.Lock) (struct{}, error) {
		if err := l.Lock(ctx); err != nil {
			return struct{}{}, err
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	})
	// acquireAndDie takes n permits, then the process kills itself holding them.
	acquireAndDie = multiproc.Register("sharing.acquireAndDie", func(ctx context.Context, in semArg) (struct{}, error) {
		for range in.N {
			if err := in.S.Acquire(ctx); err != nil {
				return struct{}{}, err
			}
		}
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {}
	})
	// lockAndReturn locks the Lock and returns: the worker goes on holding it.
	lockAndReturn = multiproc.Register("sharing.lockAndReturn", func(ctx context.Context, l *multiproc.Lock) (int, error) {
		return os.Getpid(), l.Lock(ctx)
	})
	// sharedMappings returns the lines of the worker's /proc/self/maps that name a file under
	// /dev/shm or /tmp, once it has mapped the handles it was given.
	sharedMappings = multiproc.Register("sharing.maps", func(ctx context.Context, s shared) ([]string, error) {
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
	openFiles = multiproc.Register("sharing.openFiles", func(ctx context.Context, _ int) (int, error) {
		return settledFDs()
	})
	// useAndDrop adds to the Value and reads the array, then drops them.
	useAndDrop = multiproc.Register("sharing.useAndDrop", func(ctx context.Context, s shared) (int64, error) {
		n := s.Count.Add(1) + s.Array.Slice()[0]
		return n, s.Array.Close()
	})
	// waitEvent waits for the Event and returns when it saw it, in Unix nanoseconds.
	waitEvent = multiproc.Register("sharing.waitEvent", func(ctx context.Context, e *multiproc.Event) (int64, error) {
		err := e.Wait(ctx)
		return time.Now().UnixNano(), err
	})
	// waitBarrier waits at the Barrier and returns its arrival index.
	waitBarrier = multiproc.Register("sharing.waitBarrier", func(ctx context.Context, b *multiproc.Barrier) (int, error) {
		return b.Wait(ctx)
	})
	// waitCondition counts itself in Waiting, waits on the Condition, and counts itself in
	// Woken.
	waitCondition = multiproc.Register("sharing.waitCondition", func(ctx context.Context, in condArg) (struct{}, error) {
		if err := in.C.L.Lock(ctx); err != nil {
			return struct{}{}, err
		}
		in.Waiting.Add(1)
		err := in.C.C.Wait(ctx)
		in.Woken.Add(1)
		if uerr := in.C.L.Unlock(); err == nil {
			err = uerr
		}
		return struct{}{}, err
	})
)

type semArg struct {
	S *multiproc.Semaphore
	N int
}

type condPair struct {
	L *multiproc.Lock
	C *multiproc.Condition
}

type condArg struct {
	C              condPair
	Waiting, Woken *multiproc.Value[int64]
}

func countFDs() (int, error) {
	ents, err := os.ReadDir("/proc/self/fd")
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

func TestLockOwnerDied(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	for _, try := range []bool{false, true} {
		l, err := multiproc.NewLock()
		if err != nil {
			t.Fatal(err)
		}
		proc, err := multiproc.Start(ctx, lockAndDie, l)
		if err != nil {
			t.Fatal(err)
		}
		var werr *multiproc.WorkerError
		if _, err := proc.Wait(ctx); !errors.As(err, &werr) || werr.Signal != syscall.SIGKILL {
			t.Fatalf("the holder's Wait = %v, want a worker killed by SIGKILL", err)
		}
		dead := time.Now()
		if try {
			ok, err := l.TryLock()
			if !ok || !errors.Is(err, multiproc.ErrOwnerDied) {
				t.Fatalf("TryLock after the holder died = (%v, %v), want (true, ErrOwnerDied)", ok, err)
			}
		} else if err := l.Lock(ctx); !errors.Is(err, multiproc.ErrOwnerDied) {
			t.Fatalf("Lock after the holder died = %v, want ErrOwnerDied", err)
		}
		// The bound is 100 ms; the test leaves room for a busy machine.
		if took := time.Since(dead); took > time.Second {
			t.Fatalf("taking over a dead holder's Lock took %v", took)
		} else {
			t.Logf("TryLock=%v: the Lock was taken over %v after the holder was reaped", try, took)
		}
		if err := l.Unlock(); err != nil {
			t.Fatal(err)
		}
		if err := l.Lock(ctx); err != nil {
			t.Fatalf("Lock after the take-over was undone = %v", err)
		}
		l.Unlock()
	}
}

// The waiter is asleep when the holder dies.
func TestLockOwnerDiesWhileWaited(t *testing.T) {
	t.Parallel()
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	l, err := multiproc.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := multiproc.Apply(ctx, p, lockAndReturn, l)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("Unlock of a Lock a worker holds = %v, want an error", err)
	}
	if ok, err := l.TryLock(); ok || err != nil {
		t.Fatalf("TryLock of a Lock a live worker holds = (%v, %v)", ok, err)
	}
	got := make(chan error, 1)
	go func() { got <- l.Lock(ctx) }()
	time.Sleep(30 * time.Millisecond)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	select {
	case err := <-got:
		if !errors.Is(err, multiproc.ErrOwnerDied) {
			t.Fatalf("Lock = %v, want ErrOwnerDied", err)
		}
		t.Logf("the waiter had the Lock %v after the SIGKILL", time.Since(killed))
	case <-time.After(10 * time.Second):
		t.Fatal("the waiter never had the Lock of its dead holder")
	}
	l.Unlock()
}

func TestSemaphorePermitsOfDeadProcessComeBack(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	s, err := multiproc.NewSemaphore(3)
	if err != nil {
		t.Fatal(err)
	}
	if !s.TryAcquire() {
		t.Fatal("TryAcquire of a free permit failed")
	}
	proc, err := multiproc.Start(ctx, acquireAndDie, semArg{s, 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := proc.Wait(ctx); err == nil {
		t.Fatal("the holder did not die")
	}
	dead := time.Now()
	for range 2 {
		if err := s.Acquire(ctx); err != nil {
			t.Fatal(err)
		}
	}
	took := time.Since(dead)
	t.Logf("the dead process's 2 permits came back within %v", took)
	if took > time.Second {
		t.Fatalf("the permits of a dead process came back after %v", took)
	}
	if s.TryAcquire() {
		t.Fatal("a fourth permit of three")
	}
	for range 3 {
		if err := s.Release(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Release(); err == nil {
		t.Fatal("Release beyond n succeeded")
	}
}

func TestNoNamesAndNothingLeftBehind(t *testing.T) {
	t.Parallel()
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

func TestEventWakesOtherProcess(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	e, err := multiproc.NewEvent()
	if err != nil {
		t.Fatal(err)
	}
	procs := make([]*multiproc.Process[int64], 2)
	for i := range procs {
		if procs[i], err = multiproc.Start(ctx, waitEvent, e); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if e.IsSet() {
		t.Fatal("IsSet before Set")
	}
	set := time.Now()
	e.Set()
	for _, p := range procs {
		woke, err := p.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if d := time.Unix(0, woke).Sub(set); d < 0 {
			t.Fatalf("a waiter returned %v before Set", -d)
		}
	}
	if !e.IsSet() {
		t.Fatal("IsSet false after Set")
	}
	e.Clear()
	if e.IsSet() {
		t.Fatal("IsSet true after Clear")
	}
}

func TestBarrierAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	b, err := multiproc.NewBarrier(3)
	if err != nil {
		t.Fatal(err)
	}
	p := newPool(t, multiproc.Processes(2))
	futs := []*multiproc.Future[int]{
		multiproc.Submit(ctx, p, waitBarrier, b),
		multiproc.Submit(ctx, p, waitBarrier, b),
	}
	i, err := b.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{i: true}
	for _, f := range futs {
		j, err := f.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		seen[j] = true
	}
	if len(seen) != 3 || !seen[0] || !seen[1] || !seen[2] {
		t.Fatalf("arrival indices %v, want 0, 1 and 2", seen)
	}
	// A waiter in another process whose ctx ends breaks it for the others.
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	f := multiproc.Submit(short, p, waitBarrier, b)
	if _, err := b.Wait(ctx); !errors.Is(err, multiproc.ErrBrokenBarrier) {
		t.Fatalf("Wait on a barrier a cancelled waiter broke = %v", err)
	}
	if _, err := f.Wait(ctx); err == nil {
		t.Fatal("the cancelled waiter succeeded")
	}
	if _, err := b.Wait(ctx); !errors.Is(err, multiproc.ErrBrokenBarrier) {
		t.Fatalf("Wait on a broken barrier = %v", err)
	}
	b.Reset()
	futs = []*multiproc.Future[int]{multiproc.Submit(ctx, p, waitBarrier, b), multiproc.Submit(ctx, p, waitBarrier, b)}
	if _, err := b.Wait(ctx); err != nil {
		t.Fatalf("Wait after Reset = %v", err)
	}
	for _, f := range futs {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

func TestConditionAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	l, err := multiproc.NewLock()
	if err != nil {
		t.Fatal(err)
	}
	c, err := multiproc.NewCondition(l)
	if err != nil {
		t.Fatal(err)
	}
	waiting, _ := multiproc.NewValue[int64](0)
	woken, _ := multiproc.NewValue[int64](0)
	arg := condArg{condPair{l, c}, waiting, woken}
	p := newPool(t, multiproc.Processes(3))
	var futs []*multiproc.Future[struct{}]
	for range 3 {
		futs = append(futs, multiproc.Submit(ctx, p, waitCondition, arg))
	}
	eventually(t, 30*time.Second, "3 waiters", func() bool { return waiting.Load() == 3 })
	// The waiters let go of the lock while they wait.
	if err := l.Lock(ctx); err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	c.Signal()
	eventually(t, 10*time.Second, "one waiter woken", func() bool { return woken.Load() == 1 })
	time.Sleep(50 * time.Millisecond)
	if n := woken.Load(); n != 1 {
		t.Fatalf("Signal woke %d waiters", n)
	}
	c.Broadcast()
	for _, f := range futs {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if n := woken.Load(); n != 3 {
		t.Fatalf("woken = %d after Broadcast", n)
	}
	// Neither is remembered.
	c.Signal()
	c.Broadcast()
	l.Lock(ctx)
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if err := c.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait after an earlier Signal = %v, want the ctx's end", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatalf("Condition.Wait returned without the lock: %v", err)
	}
}

func TestBlockingCallsHonourContext(t *testing.T) {
	t.Parallel()
	l, _ := multiproc.NewLock()
	l.Lock(context.Background())
	s, _ := multiproc.NewSemaphore(0)
	e, _ := multiproc.NewEvent()
	cl, _ := multiproc.NewLock()
	c, _ := multiproc.NewCondition(cl)
	b, _ := multiproc.NewBarrier(2)
	calls := map[string]func(ctx context.Context) error{
		"Lock.Lock":         l.Lock,
		"Semaphore.Acquire": s.Acquire,
		"Event.Wait":        e.Wait,
		"Condition.Wait": func(ctx context.Context) error {
			cl.Lock(context.Background())
			defer cl.Unlock()
			return c.Wait(ctx)
		},
		"Barrier.Wait": func(ctx context.Context) error { _, err := b.Wait(ctx); return err },
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- call(ctx) }()
			time.Sleep(30 * time.Millisecond)
			cancel()
			start := time.Now()
			select {
			case err := <-done:
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("%s = %v, want context.Canceled", name, err)
				}
				t.Logf("%s returned %v after cancel", name, time.Since(start))
			case <-time.After(10 * time.Second):
				t.Fatalf("%s ignored its context", name)
			}
		})
	}
}

func TestSharingBadInput(t *testing.T) {
	t.Parallel()
	for name, err := range map[string]error{
		"NewSemaphore(-1)":   second(multiproc.NewSemaphore(-1)),
		"NewBarrier(0)":      second(multiproc.NewBarrier(0)),
		"NewSharedArray(-1)": second(multiproc.NewSharedArray[int](-1)),
		"NewCondition(nil)":  second(multiproc.NewCondition(nil)),
	} {
		if !errors.Is(err, multiproc.ErrInvalidOption) {
			t.Errorf("%s = %v, want ErrInvalidOption", name, err)
		}
	}
	_, err := multiproc.NewSharedArray[*int](4)
	if !errors.Is(err, multiproc.ErrInvalidOption) || !strings.Contains(err.Error(), "*int") {
		t.Errorf("NewSharedArray[*int] = %v, want ErrInvalidOption naming *int", err)
	}
	type withString struct {
		N    int
		Name string
	}
	_, err = multiproc.NewSharedArray[withString](4)
	if err == nil || !strings.Contains(err.Error(), "Name") {
		t.Errorf("NewSharedArray of a struct with a string = %v, want an error naming the field", err)
	}
	type plain struct {
		X, Y float64
		Ok   bool
		Hist [4]uint16
	}
	a, err := multiproc.NewSharedArray[plain](3)
	if err != nil {
		t.Fatalf("NewSharedArray of a plain struct: %v", err)
	}
	if a.Len() != 3 || a.Slice()[2] != (plain{}) {
		t.Fatal("a new SharedArray is not zeroed")
	}
	a.Close()
	if err := a.Close(); err != nil {
		t.Fatalf("a second Close = %v", err)
	}
	l, _ := multiproc.NewLock()
	if err := l.Unlock(); err == nil {
		t.Error("Unlock of an unlocked Lock succeeded")
	}
	cl, _ := multiproc.NewLock()
	c, _ := multiproc.NewCondition(cl)
	if err := c.Wait(context.Background()); err == nil {
		t.Error("Condition.Wait without the lock succeeded")
	}
	s, _ := multiproc.NewSemaphore(1)
	if err := s.Release(); err == nil {
		t.Error("Release beyond n succeeded")
	}
}

func second[T any](_ T, err error) error { return err }

func TestValueOperations(t *testing.T) {
	t.Parallel()
	i8, _ := multiproc.NewValue[int8](127)
	if got := i8.Add(1); got != -128 {
		t.Fatalf("int8 127+1 = %d", got)
	}
	if !i8.CompareAndSwap(-128, 5) || i8.Load() != 5 {
		t.Fatal("CompareAndSwap after a wrap-around failed")
	}
	u16, _ := multiproc.NewValue[uint16](0)
	if got := u16.Add(^uint16(0)); got != 65535 {
		t.Fatalf("uint16 0-1 = %d", got)
	}
	f, _ := multiproc.NewValue(0.5)
	if got := f.Add(0.25); got != 0.75 {
		t.Fatalf("0.5+0.25 = %v", got)
	}
	if old := f.Swap(2); old != 0.75 || f.Load() != 2 {
		t.Fatal("Swap")
	}
	f32, _ := multiproc.NewValue[float32](-1.5)
	if f32.Load() != -1.5 || f32.Add(1) != -0.5 {
		t.Fatal("float32")
	}
	if f.CompareAndSwap(3, 4) || !f.CompareAndSwap(2, 4) || f.Load() != 4 {
		t.Fatal("CompareAndSwap on floats")
	}
}

var (
	// shareAndHang makes handles, passes them to a pool of its own, stores that pool's
	// worker's pid in Ready, and waits to be killed.
	shareAndHang = multiproc.Register("sharing.shareAndHang", func(ctx context.Context, ready *multiproc.Value[int64]) (struct{}, error) {
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
)

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
