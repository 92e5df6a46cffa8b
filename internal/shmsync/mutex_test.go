//go:build unix

package shmsync

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

func TestMutexExcludesProcesses(t *testing.T) {
	t.Parallel()
	p := newPage(t)
	const n = 20000
	a := startChild(t, p, "count", "20000")
	b := startChild(t, p, "count", "20000")
	m, counter := at[Mutex](p.mem, 0), at[uint64](p.mem, 64)
	for range n {
		if _, err := m.Lock(context.Background()); err != nil {
			t.Fatal(err)
		}
		*counter++
		m.Unlock()
	}
	a.expect(t, "done")
	b.expect(t, "done")
	if *counter != 3*n {
		t.Fatalf("counter = %d, want %d: the mutex let two processes in", *counter, 3*n)
	}
}

func TestMutexOwnerDied(t *testing.T) {
	t.Parallel()
	p := newPage(t)
	m := at[Mutex](p.mem, 0)
	c := startChild(t, p, "lock-and-hang")
	c.expect(t, "locked")
	if ok, _ := m.TryLock(); ok {
		t.Fatal("TryLock took a lock a live process holds")
	}
	type result struct {
		died bool
		err  error
		at   time.Time
	}
	got := make(chan result, 1)
	go func() {
		died, err := m.Lock(context.Background())
		got <- result{died, err, time.Now()}
	}()
	time.Sleep(3 * Slice) // let the waiter sleep and check the live holder a few times
	select {
	case r := <-got:
		t.Fatalf("Lock returned %+v while the holder lived", r)
	default:
	}
	dead := c.kill(t)
	r := <-got
	if r.err != nil || !r.died {
		t.Fatalf("Lock after the holder died = (%v, %v), want (true, nil)", r.died, r.err)
	}
	// The bound is the brief's 100 ms, with room for a busy machine.
	took := r.at.Sub(dead)
	t.Logf("the waiter took the lock over %v after the holder was reaped", took)
	if took > 500*time.Millisecond {
		t.Fatalf("taking over the lock of a dead holder took %v", took)
	}
	if !m.HeldBySelf() {
		t.Fatal("the lock is not held after the take-over")
	}
	if err := m.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestMutexTryLockOwnerDied(t *testing.T) {
	t.Parallel()
	p := newPage(t)
	m := at[Mutex](p.mem, 0)
	c := startChild(t, p, "lock-and-hang")
	c.expect(t, "locked")
	c.kill(t)
	ok, died := m.TryLock()
	if !ok || !died {
		t.Fatalf("TryLock of a dead holder's lock = (%v, %v), want (true, true)", ok, died)
	}
	if ok, _ := m.TryLock(); ok {
		t.Fatal("TryLock in the holder succeeded")
	}
	m.Unlock()
}

func TestMutexUnlockNotHeld(t *testing.T) {
	t.Parallel()
	var m Mutex
	if err := m.Unlock(); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("Unlock of a free mutex = %v", err)
	}
	m.Lock(context.Background())
	// Any goroutine of the holding process may unlock it.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); m.Unlock() }()
	wg.Wait()
	if m.Owner() != 0 {
		t.Fatal("unlocked from another goroutine, still held")
	}
}

func TestMutexLockHonoursContext(t *testing.T) {
	t.Parallel()
	var m Mutex
	m.Lock(context.Background())
	defer m.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { _, err := m.Lock(ctx); done <- err }()
	time.Sleep(20 * time.Millisecond)
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Lock = %v, want context.Canceled", err)
		}
		t.Logf("Lock returned %v after cancel", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("Lock ignored its context")
	}
}

func TestMutexExcludesGoroutines(t *testing.T) {
	t.Parallel()
	var m Mutex
	var wg sync.WaitGroup
	n := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				m.Lock(context.Background())
				n++
				m.Unlock()
			}
		}()
	}
	wg.Wait()
	if n != 8000 {
		t.Fatalf("n = %d, want 8000", n)
	}
}
