//go:build unix

package multiproc_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// Tests of the objects shared between processes, with real processes and real signals.

// waitEvent waits for the Event and returns when it saw it, in Unix nanoseconds.
var waitEvent = multiproc.Register("sharing.waitEvent", func(ctx context.Context, e *multiproc.Event) (int64, error) {
	err := e.Wait(ctx)
	return time.Now().UnixNano(), err
})

// waitBarrier waits at the Barrier and returns its arrival index.
var waitBarrier = multiproc.Register("sharing.waitBarrier", func(ctx context.Context, b *multiproc.Barrier) (int, error) {
	return b.Wait(ctx)
})

// waitCondition counts itself in Waiting, waits on the Condition, and counts itself in
// Woken.
var waitCondition = multiproc.Register("sharing.waitCondition", func(ctx context.Context, in condArg) (struct{}, error) {
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

type condPair struct {
	L *multiproc.Lock
	C *multiproc.Condition
}

type condArg struct {
	C              condPair
	Waiting, Woken *multiproc.Value[int64]
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
