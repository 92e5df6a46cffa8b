//go:build unix

package shmsync

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestSemaphoreDeadHolder(t *testing.T) {
	t.Parallel()
	p := newPage(t)
	s := at[Semaphore](p.mem, 0)
	s.Init(2)
	c := startChild(t, p, "acquire-and-hang")
	c.expect(t, "acquired")
	if ok, _ := s.TryAcquire(); ok {
		t.Fatal("a third permit of two")
	}
	got := make(chan error, 1)
	go func() { got <- s.Acquire(context.Background()) }()
	time.Sleep(3 * Slice)
	dead := c.kill(t)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	t.Logf("a permit of the dead holder came back %v after it was reaped", time.Since(dead))
	if ok, _ := s.TryAcquire(); !ok {
		t.Fatal("the second permit of the dead holder did not come back")
	}
	for range 2 {
		if err := s.Release(); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Release(); !errors.Is(err, ErrOverRelease) {
		t.Fatalf("Release beyond n = %v", err)
	}
}

func TestSemaphoreBounds(t *testing.T) {
	t.Parallel()
	var s Semaphore
	s.Init(3)
	var in, most atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if err := s.Acquire(context.Background()); err != nil {
					t.Error(err)
					return
				}
				n := in.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				in.Add(-1)
				if err := s.Release(); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if most.Load() > 3 || s.Free() != 3 {
		t.Fatalf("at most %d inside, %d free at the end; want ≤ 3 and 3", most.Load(), s.Free())
	}
}

func TestConditionSignalWakesOneInOrder(t *testing.T) {
	t.Parallel()
	var m Mutex
	var c Condition
	ctx := context.Background()
	woken := make(chan int, 3)
	for i := range 3 {
		go func() {
			m.Lock(ctx)
			defer m.Unlock()
			if _, err := c.Wait(ctx, &m); err != nil {
				t.Error(err)
			}
			woken <- i
		}()
		// A waiter has its ticket, and is waiting, before it lets go of the lock.
		for c.tickets.Load() != uint32(i+1) {
			time.Sleep(time.Millisecond)
		}
	}
	for want := range 3 {
		c.Signal()
		select {
		case got := <-woken:
			if got != want {
				t.Fatalf("Signal woke waiter %d, want %d (the longest waiting)", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Signal woke nobody")
		}
		select {
		case got := <-woken:
			t.Fatalf("one Signal woke waiter %d too", got)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestBarrierGenerations(t *testing.T) {
	t.Parallel()
	var b Barrier
	b.Init(3)
	ctx := context.Background()
	for round := range 20 {
		var wg sync.WaitGroup
		idx := make(chan int, 3)
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				i, err := b.Wait(ctx)
				if err != nil {
					t.Errorf("round %d: %v", round, err)
				}
				idx <- i
			}()
		}
		wg.Wait()
		close(idx)
		seen := 0
		for i := range idx {
			seen |= 1 << i
		}
		if seen != 7 {
			t.Fatalf("round %d: indices %b, want 0, 1 and 2", round, seen)
		}
	}
	// Abort breaks it until Reset; Reset breaks it for the waiters then.
	b.Abort()
	if _, err := b.Wait(ctx); !errors.Is(err, ErrBroken) {
		t.Fatalf("Wait after Abort = %v", err)
	}
	b.Reset()
	got := make(chan error, 1)
	go func() { _, err := b.Wait(ctx); got <- err }()
	for b.Waiting() != 1 {
		time.Sleep(time.Millisecond)
	}
	b.Reset()
	if err := <-got; !errors.Is(err, ErrBroken) {
		t.Fatalf("a waiter through Reset = %v, want ErrBroken", err)
	}
	if b.Waiting() != 0 {
		t.Fatal("Reset left waiters counted")
	}
}

func TestEventSetThenClearWakesWaiter(t *testing.T) {
	t.Parallel()
	var e Event
	got := make(chan error, 1)
	go func() { got <- e.Wait(context.Background()) }()
	for e.waiters.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	e.Set()
	e.Clear()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiter missed a Set followed at once by Clear")
	}
}

func TestConditionSignalSkipsDeadWaiter(t *testing.T) {
	t.Parallel()
	p := newPage(t)
	m, c := at[Mutex](p.mem, 0), at[Condition](p.mem, 64)
	child := startChild(t, p, "cond-wait")
	child.expect(t, "waiting")
	for c.tickets.Load() != 1 {
		time.Sleep(time.Millisecond)
	}
	child.kill(t)
	ctx := context.Background()
	woken := make(chan error, 1)
	go func() {
		m.Lock(ctx)
		_, err := c.Wait(ctx, m)
		m.Unlock()
		woken <- err
	}()
	for c.tickets.Load() != 2 {
		time.Sleep(time.Millisecond)
	}
	c.Signal()
	select {
	case err := <-woken:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Signal went to a waiter whose process had died")
	}
}
