package cluster

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// TestTimeout: a pool's TaskTimeout reaches the task on its host (its ctx ends); a task that
// ignores it is killed with its worker after the grace period; the items after it run.
func TestTimeout(t *testing.T) {
	ts := startServer(t)
	startHost(t, ts, envTestProcs+"=1")
	ctx := testContext(t, time.Minute)
	p := newPool(t, ts, nil, multiproc.TaskTimeout(300*time.Millisecond), multiproc.GracePeriod(200*time.Millisecond))
	waitWorkers(t, p, 1)

	start := time.Now()
	_, err := multiproc.Apply(ctx, p, polite, time.Minute)
	if !errors.Is(err, multiproc.ErrTimeout) || time.Since(start) > 10*time.Second {
		t.Fatalf("a task past TaskTimeout: %v after %v", err, time.Since(start))
	}
	start = time.Now()
	_, err = multiproc.Apply(ctx, p, stubborn, time.Minute)
	if !errors.Is(err, multiproc.ErrTimeout) || time.Since(start) > 10*time.Second {
		t.Fatalf("a task that ignores its ctx past TaskTimeout: %v after %v", err, time.Since(start))
	}
	// The killed worker's replacement is up before the next items are timed (a host times an
	// item from when it gives it to its worker).
	if _, err := multiproc.Apply(ctx, p, polite, 0); err != nil {
		t.Fatal(err)
	}
	ins := []time.Duration{time.Millisecond, time.Minute, time.Millisecond, 2 * time.Millisecond}
	results := make([]error, len(ins))
	for r := range multiproc.ImapUnordered(ctx, p, stubborn, func(yield func(time.Duration) bool) {
		for _, d := range ins {
			if !yield(d) {
				return
			}
		}
	}, multiproc.ChunkSize(4)) {
		results[r.Index] = r.Err
	}
	for i, err := range results {
		if (i == 1) != errors.Is(err, multiproc.ErrTimeout) || (i != 1 && err != nil) {
			t.Errorf("item %d: %v", i, err)
		}
	}
}

// TestHostTimeout: a host's own TaskTimeout bounds the tasks it runs.
func TestHostTimeout(t *testing.T) {
	ts := startServer(t)
	startHost(t, ts, envTestProcs+"=1", envTestHostTO+"=300ms")
	ctx := testContext(t, time.Minute)
	p := newPool(t, ts, nil)
	waitWorkers(t, p, 1)
	if _, err := multiproc.Apply(ctx, p, polite, time.Minute); !errors.Is(err, multiproc.ErrTimeout) {
		t.Fatalf("a task past the host's TaskTimeout: %v", err)
	}
}

// TestCancel: a cancelled call returns promptly and frees the hosts' workers.
func TestCancel(t *testing.T) {
	ts := startServer(t)
	startHost(t, ts, envTestProcs+"=2")
	ctx := testContext(t, time.Minute)
	p := newPool(t, ts, nil, multiproc.GracePeriod(200*time.Millisecond))
	waitWorkers(t, p, 2)

	cctx, cancel := context.WithCancel(ctx)
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	_, err := multiproc.Map(cctx, p, stubborn, []time.Duration{time.Minute, time.Minute, time.Minute, time.Minute}, multiproc.ChunkSize(1))
	if !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Fatalf("a cancelled Map: %v after %v", err, time.Since(start))
	}
	fut := multiproc.Submit(ctx, p, polite, time.Minute)
	time.Sleep(200 * time.Millisecond)
	fut.Cancel()
	if _, err := fut.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled Future: %v", err)
	}
	// The workers are free again: two tasks run at once, well before the cancelled ones
	// would have ended.
	start = time.Now()
	if _, err := multiproc.Map(ctx, p, polite, []time.Duration{time.Second, time.Second}, multiproc.ChunkSize(1)); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Fatalf("the hosts' workers were busy %v after the calls were cancelled", d)
	}
}
