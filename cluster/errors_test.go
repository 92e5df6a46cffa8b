package cluster

import (
	"errors"
	"io/fs"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// TestErrors: errors cross from the hosts as they do from local workers.
func TestErrors(t *testing.T) {
	ts := startServer(t)
	startHost(t, ts, envTestProcs+"=2")
	ctx := testContext(t, time.Minute)

	p := newPool(t, ts, nil)
	waitWorkers(t, p, 2)
	_, err := multiproc.Map(ctx, p, failing, []int{0, 1, 2, 3, 4, 5}, multiproc.ChunkSize(1))
	var te *multiproc.TaskError
	var re *multiproc.RemoteError
	if !errors.As(err, &te) || te.Index != 3 || !errors.As(err, &re) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Map with a failing item: %v (%T)", err, err)
	}
	_, err = multiproc.Apply(ctx, p, panicking, 1)
	var pe *multiproc.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" || pe.Stack == "" {
		t.Fatalf("a panic: %v (%T)", err, err)
	}
	_, err = multiproc.Apply(ctx, p, exiting, -1)
	var we *multiproc.WorkerError
	if !errors.As(err, &we) || !errors.Is(err, multiproc.ErrWorkerDied) || we.ExitCode != 3 || we.Pid == 0 {
		t.Fatalf("a worker that exits: %v (%T)", err, err)
	}

	// Retries re-runs a task whose worker died, and Attempt counts the runs.
	pr := newPool(t, ts, nil, multiproc.Retries(1))
	waitWorkers(t, pr, 2)
	if n, err := multiproc.Apply(ctx, pr, exiting, 3); err != nil || n != 2 {
		t.Fatalf("Apply with Retries(1) of a task whose first run exits: %v, %v; want 2, nil", n, err)
	}
	outs, err := multiproc.Map(ctx, pr, exiting, []int{3, 3, 3}, multiproc.ChunkSize(3))
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range outs {
		if n != 2 {
			t.Errorf("item %d ran %d times, want 2", i, n)
		}
	}
}
