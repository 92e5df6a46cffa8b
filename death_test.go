//go:build unix

package multiproc_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// Tests of processes that die holding a Lock or Semaphore: real processes, real SIGKILLs.

// lockAndDie locks the Lock, then the process kills itself holding it.
var lockAndDie = multiproc.Register("sharing.lockAndDie", func(ctx context.Context, l *multiproc.Lock) (struct{}, error) {
	if err := l.Lock(ctx); err != nil {
		return struct{}{}, err
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
})

// acquireAndDie takes n permits, then the process kills itself holding them.
var acquireAndDie = multiproc.Register("sharing.acquireAndDie", func(ctx context.Context, in semArg) (struct{}, error) {
	for range in.N {
		if err := in.S.Acquire(ctx); err != nil {
			return struct{}{}, err
		}
	}
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {}
})

// lockAndReturn locks the Lock and returns: the worker goes on holding it.
var lockAndReturn = multiproc.Register("sharing.lockAndReturn", func(ctx context.Context, l *multiproc.Lock) (int, error) {
	return os.Getpid(), l.Lock(ctx)
})

type semArg struct {
	S *multiproc.Semaphore
	N int
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

// hammerLock locks and unlocks the Lock until the process is killed, counting in Count.
var hammerLock = multiproc.Register("sharing.hammerLock", func(ctx context.Context, s shared) (struct{}, error) {
	for ctx.Err() == nil {
		if err := s.Lock.Lock(ctx); err != nil && !errors.Is(err, multiproc.ErrOwnerDied) {
			return struct{}{}, err
		}
		s.Array.Slice()[0]++
		s.Count.Add(1)
		s.Lock.Unlock()
	}
	return struct{}{}, nil
})

// Processes killed at random moments of locking and unlocking never leave the Lock wedged.
func TestLockSurvivesKillsAtRandomMoments(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	s := newShared(t, 1)
	died := 0
	for round := range 8 {
		var procs []*multiproc.Process[struct{}]
		for range 2 {
			p, err := multiproc.Start(ctx, hammerLock, s)
			if err != nil {
				t.Fatal(err)
			}
			procs = append(procs, p)
		}
		eventually(t, 30*time.Second, "the processes locking", func() bool { return s.Count.Load() > int64(round+1)*100 })
		time.Sleep(time.Duration(round%4) * time.Millisecond)
		for _, p := range procs {
			p.Kill()
		}
		for _, p := range procs {
			p.Wait(ctx)
		}
		lctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := s.Lock.Lock(lctx)
		cancel()
		switch {
		case errors.Is(err, multiproc.ErrOwnerDied):
			died++
		case err != nil:
			t.Fatalf("round %d: Lock after the holders were killed = %v", round, err)
		}
		s.Lock.Unlock()
	}
	t.Logf("8 rounds, %d found the lock held by a killed process; %d lockings", died, s.Count.Load())
}

type semHammer struct {
	S     *multiproc.Semaphore
	Count *multiproc.Value[int64]
}

var hammerSemaphore = multiproc.Register("sharing.hammerSemaphore", func(ctx context.Context, h semHammer) (struct{}, error) {
	for ctx.Err() == nil {
		if err := h.S.Acquire(ctx); err != nil {
			return struct{}{}, err
		}
		h.Count.Add(1)
		if err := h.S.Release(); err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, nil
})

// Processes killed at random moments of acquiring and releasing never take permits with them.
func TestSemaphoreSurvivesKillsAtRandomMoments(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	s, _ := multiproc.NewSemaphore(2)
	count, _ := multiproc.NewValue[int64](0)
	for round := range 6 {
		var procs []*multiproc.Process[struct{}]
		for range 3 {
			p, err := multiproc.Start(ctx, hammerSemaphore, semHammer{s, count})
			if err != nil {
				t.Fatal(err)
			}
			procs = append(procs, p)
		}
		eventually(t, 30*time.Second, "the processes acquiring", func() bool { return count.Load() > int64(round+1)*100 })
		time.Sleep(time.Duration(round%3) * time.Millisecond)
		for _, p := range procs {
			p.Kill()
		}
		for _, p := range procs {
			p.Wait(ctx)
		}
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		for i := range 2 {
			if err := s.Acquire(actx); err != nil {
				t.Fatalf("round %d: permit %d after the holders were killed: %v", round, i, err)
			}
		}
		cancel()
		if s.TryAcquire() {
			t.Fatalf("round %d: a third permit of two", round)
		}
		s.Release()
		s.Release()
	}
}
