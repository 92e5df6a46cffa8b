//go:build unix

package multiproc_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

func TestTaskTimeout(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    *multiproc.Func[time.Duration, int]
	}{
		{"task honours its ctx", sleepy},
		{"task ignores its ctx", stubborn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPool(t, multiproc.Processes(1), multiproc.TaskTimeout(100*time.Millisecond),
				multiproc.GracePeriod(100*time.Millisecond))
			pid, err := multiproc.Apply(ctxFor(t), p, tc.f, 0)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = multiproc.Apply(ctxFor(t), p, tc.f, time.Minute)
			if !errors.Is(err, multiproc.ErrTimeout) {
				t.Fatalf("got %v, want ErrTimeout", err)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("timed out after %v", d)
			}
			after, err := multiproc.Apply(ctxFor(t), p, tc.f, 0)
			if err != nil {
				t.Fatal(err)
			}
			replaced := after != pid
			if tc.f == stubborn && !replaced {
				t.Fatal("the worker of a task that ignored its timeout was not replaced")
			}
			if tc.f == sleepy && replaced {
				t.Fatal("the worker of a task that honoured its timeout was replaced")
			}
		})
	}
}

func TestProcessTimeout(t *testing.T) {
	p, err := multiproc.Start(ctxFor(t), stubborn, time.Minute,
		multiproc.TaskTimeout(50*time.Millisecond), multiproc.GracePeriod(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctxFor(t)); !errors.Is(err, multiproc.ErrTimeout) {
		t.Fatalf("got %v, want ErrTimeout", err)
	}
}

// Cancelling the caller's ctx cancels the task's ctx in the worker at once.
func TestCancelReachesTheTask(t *testing.T) {
	p := newPool(t, multiproc.Processes(2), multiproc.GracePeriod(10*time.Second))
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(ctxFor(t))
	paths := []string{filepath.Join(dir, "a"), filepath.Join(dir, "b")}
	errc := make(chan error, 1)
	go func() {
		_, err := multiproc.Map(ctx, p, noteCancel, paths, multiproc.ChunkSize(1))
		errc <- err
	}()
	eventually(t, 10*time.Second, "both tasks running", func() bool {
		return exists(paths[0]+".started") && exists(paths[1]+".started")
	})
	cancel()
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Map = %v, want context.Canceled", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Map did not return promptly after its ctx was cancelled")
	}
	// Well before the grace period would kill them, the tasks saw their ctx end.
	eventually(t, 5*time.Second, "the tasks saw the cancellation", func() bool {
		for _, path := range paths {
			if _, err := os.Stat(path); err != nil {
				return false
			}
		}
		return true
	})
}

// A task that ignores cancellation is killed after the grace period, and its worker replaced.
func TestCancelKillsAStubbornTask(t *testing.T) {
	p := newPool(t, multiproc.Processes(1), multiproc.GracePeriod(100*time.Millisecond))
	ctx, cancel := context.WithCancel(ctxFor(t))
	path := filepath.Join(t.TempDir(), "started")
	fut := multiproc.Submit(ctx, p, hang, path)
	eventually(t, 10*time.Second, "the task running", func() bool { return exists(path) })
	cancel()
	if _, err := fut.Wait(ctxFor(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	eventually(t, 10*time.Second, "the stubborn worker replaced", func() bool {
		st := p.Stats()
		return st.WorkersRestarted == 1 && st.Workers == 1
	})
	if v, err := multiproc.Apply(ctxFor(t), p, square, 5); err != nil || v != 25 {
		t.Fatalf("pool after the kill: %v, %v", v, err)
	}
}

func TestFutureCancel(t *testing.T) {
	p := newPool(t, multiproc.Processes(1), multiproc.GracePeriod(10*time.Second))
	path := filepath.Join(t.TempDir(), "cancelled")
	running := multiproc.Submit(ctxFor(t), p, noteCancel, path)
	queued := multiproc.Submit(ctxFor(t), p, square, 3)
	eventually(t, 10*time.Second, "the task running", func() bool { return exists(path + ".started") })
	queued.Cancel()
	running.Cancel()
	for _, f := range []*multiproc.Future[int]{running, queued} {
		if _, err := f.Wait(ctxFor(t)); !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatal("the running task did not see its ctx end")
	}
	done := multiproc.Submit(ctxFor(t), p, square, 4)
	done.Wait(ctxFor(t))
	done.Cancel() // after the end: nothing happens
	if v, err := done.Wait(ctxFor(t)); err != nil || v != 16 {
		t.Fatalf("Cancel after the end changed the result: %v, %v", v, err)
	}
}

func TestCancelledStartStopsTheProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(ctxFor(t))
	path := filepath.Join(t.TempDir(), "started")
	p, err := multiproc.Start(ctx, hang, path, multiproc.GracePeriod(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the task running", func() bool { return exists(path) })
	cancel()
	if _, err := p.Wait(ctxFor(t)); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if alive(p.Pid()) {
		t.Fatal("the process is alive after Wait")
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
