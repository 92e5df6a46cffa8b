package cluster

import (
	"errors"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// TestHostKilled: a host SIGKILLed with its workers mid-call has its running tasks count as
// worker deaths (re-run with Retries) and the rest run elsewhere, LostAfter later.
func TestHostKilled(t *testing.T) {
	ts := startServer(t)
	a := startHost(t, ts, envTestProcs+"=2", envTestTag+"=a", envTestLost+"=1s")
	startHost(t, ts, envTestProcs+"=2", envTestTag+"=b", envTestLost+"=1s")
	ctx := testContext(t, time.Minute)
	p := newPool(t, ts, nil, multiproc.Retries(1))
	waitWorkers(t, p, 4)

	ins := slices.Repeat([]time.Duration{200 * time.Millisecond}, 40)
	seen := make([]int, len(ins))
	var onA, retried int
	killed := false
	start := time.Now()
	for r := range multiproc.ImapUnordered(ctx, p, whereAt, slices.Values(ins), multiproc.ChunkSize(1)) {
		if r.Err != nil {
			t.Fatalf("item %d: %v", r.Index, r.Err)
		}
		seen[r.Index]++
		if r.Value.Tag == "a" {
			onA++
		}
		if r.Value.Attempt > 1 {
			retried++
			if r.Value.Tag != "b" {
				t.Errorf("item %d was re-run on host %q, not b", r.Index, r.Value.Tag)
			}
		}
		if onA == 2 && !killed {
			a.kill()
			killed = true
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Errorf("index %d came %d times", i, n)
		}
	}
	if !killed || retried == 0 {
		t.Errorf("host a killed: %v; items re-run: %d (want some: those a was running)", killed, retried)
	}
	// 40 tasks of 200ms on 4 then 2 workers, plus LostAfter: well under 10s.
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("the call took %v", d)
	}
}

// TestHostKilledNoRetries: without Retries, a task running on a host that vanished fails
// with *WorkerError; the others complete.
func TestHostKilledNoRetries(t *testing.T) {
	ts := startServer(t)
	a := startHost(t, ts, envTestProcs+"=1", envTestTag+"=a", envTestLost+"=500ms")
	ctx := testContext(t, time.Minute)
	p := newPool(t, ts, nil)
	waitWorkers(t, p, 1)
	fut := multiproc.Submit(ctx, p, whereAt, time.Minute)
	time.Sleep(500 * time.Millisecond)
	a.kill()
	startHost(t, ts, envTestProcs+"=1", envTestTag+"=b", envTestLost+"=500ms")
	_, err := fut.Wait(ctx)
	var we *multiproc.WorkerError
	if !errors.As(err, &we) || !errors.Is(err, multiproc.ErrWorkerDied) {
		t.Fatalf("a task whose host vanished: %v (%T)", err, err)
	}
	if w, err := multiproc.Apply(ctx, p, whereAt, 0); err != nil || w.Tag != "b" {
		t.Fatalf("after: %+v, %v", w, err)
	}
}

// TestHostStops: a host told to stop (SIGTERM) finishes or hands back what it holds and
// exits 0; nothing is lost or run to completion twice.
func TestHostStops(t *testing.T) {
	ts := startServer(t)
	// Host a is made by multiproc.Main from the environment, as in a user's program.
	a := startHost(t, ts, envServe+"="+ts.url(), envProcesses+"=2", envLostAfter+"=5s", envTestTag+"=a")
	startHost(t, ts, envTestProcs+"=2", envTestTag+"=b")
	ctx := testContext(t, time.Minute)
	p := newPool(t, ts, nil)
	waitWorkers(t, p, 4)

	// Some tasks a finishes as it stops, some it hands back (longer than handBackAfter).
	ins := slices.Repeat([]time.Duration{300 * time.Millisecond, 2500 * time.Millisecond}, 5)
	seen := make([]int, len(ins))
	stopped := false
	n := 0
	for r := range multiproc.ImapUnordered(ctx, p, whereAt, slices.Values(ins), multiproc.ChunkSize(1)) {
		if r.Err != nil {
			t.Fatalf("item %d: %v", r.Index, r.Err)
		}
		if r.Value.Attempt != 1 {
			t.Errorf("item %d: attempt %d: a task handed back is not a retry", r.Index, r.Value.Attempt)
		}
		seen[r.Index]++
		if n++; n == 2 && !stopped {
			a.cmd.Process.Signal(syscall.SIGTERM)
			stopped = true
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Errorf("index %d came %d times", i, n)
		}
	}
	if code := a.wait(t, 20*time.Second); code != 0 {
		t.Errorf("the stopped host exited with %d", code)
	}
}

// TestServerRestart: the NATS server stopped and started again mid-call (file storage): the
// call completes with every result.
func TestServerRestart(t *testing.T) {
	ts := startServer(t)
	startHost(t, ts, envTestProcs+"=2")
	startHost(t, ts, envTestProcs+"=2")
	ctx := testContext(t, 2*time.Minute)
	// A restart slower than LostAfter makes the hosts' running tasks count as lost: re-run.
	p := newPool(t, ts, nil, multiproc.Retries(2))
	waitWorkers(t, p, 4)

	ins := slices.Repeat([]time.Duration{100 * time.Millisecond}, 60)
	done := make(chan struct{})
	var outs []where
	var err error
	go func() {
		defer close(done)
		outs, err = multiproc.Map(ctx, p, whereAt, ins, multiproc.ChunkSize(1))
	}()
	time.Sleep(700 * time.Millisecond)
	ts.restart()
	<-done
	if err != nil || len(outs) != len(ins) {
		t.Fatalf("Map across a server restart: %d results, %v", len(outs), err)
	}
	for i, w := range outs {
		if w.Pid == 0 {
			t.Errorf("item %d has no result", i)
		}
	}
}

// TestServerKilled: the NATS server, in a process of its own, SIGKILLed and started again
// mid-call (file storage): the call completes with every result.
func TestServerKilled(t *testing.T) {
	sp := startServerProcess(t)
	startHost(t, sp, envTestProcs+"=2")
	startHost(t, sp, envTestProcs+"=2")
	ctx := testContext(t, 2*time.Minute)
	p := newPool(t, sp, nil)
	waitWorkers(t, p, 4)

	ins := slices.Repeat([]time.Duration{100 * time.Millisecond}, 60)
	done := make(chan struct{})
	var outs []where
	var err error
	go func() {
		defer close(done)
		outs, err = multiproc.Map(ctx, p, whereAt, ins, multiproc.ChunkSize(1))
	}()
	time.Sleep(700 * time.Millisecond)
	sp.kill()
	sp.start()
	<-done
	if err != nil || len(outs) != len(ins) {
		t.Fatalf("Map across a server killed and started again: %d results, %v", len(outs), err)
	}
	for i, w := range outs {
		if w.Pid == 0 {
			t.Errorf("item %d has no result", i)
		}
	}
}
