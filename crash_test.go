//go:build unix

package multiproc_test

import (
	"errors"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// A worker that dies fails only the item it was running; the rest of its chunk runs elsewhere,
// it is replaced, and the pool goes on.
func TestWorkerDeathFailsOnlyItsItem(t *testing.T) {
	for _, tc := range []struct {
		how      string
		exitCode int
		signal   syscall.Signal
		stderr   string
	}{
		{"exit0", 0, 0, ""},
		{"exit3", 3, 0, ""},
		{"sigkill", -1, syscall.SIGKILL, ""},
		{"segfault", 2, 0, "SIGSEGV"},
		{"fatal", 2, 0, "stack overflow"},
	} {
		t.Run(tc.how, func(t *testing.T) {
			p := newPool(t, multiproc.Processes(2), multiproc.Stderr(io.Discard))
			in := []string{"a", "b", tc.how, "d", "e", "f", "g", "h"}
			var got []string
			for v, err := range multiproc.Imap(ctxFor(t), p, crash, slices.Values(in), multiproc.ChunkSize(4)) {
				if len(got) != 2 {
					if err != nil {
						t.Fatalf("item %d failed: %v", len(got), err)
					}
					got = append(got, v)
					continue
				}
				we := asWorkerError(t, err)
				var te *multiproc.TaskError
				if !errors.As(err, &te) || te.Index != 2 {
					t.Fatalf("got %v, want a *TaskError for index 2", err)
				}
				if we.ExitCode != tc.exitCode || we.Signal != tc.signal || we.Pid == 0 {
					t.Fatalf("WorkerError = %+v, want exit code %d, signal %v", we, tc.exitCode, tc.signal)
				}
				if !strings.Contains(we.Stderr, tc.stderr) {
					t.Fatalf("WorkerError.Stderr = %q, want it to contain %q", we.Stderr, tc.stderr)
				}
				got = append(got, "died")
			}
			want := []string{"a", "b", "died", "d", "e", "f", "g", "h"}
			if !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			eventually(t, 10*time.Second, "the worker replaced", func() bool { return p.Stats().Workers == 2 })
			if st := p.Stats(); st.WorkersRestarted != 1 {
				t.Fatalf("WorkersRestarted = %d, want 1", st.WorkersRestarted)
			}
			if out, err := multiproc.Map(ctxFor(t), p, square, []int{1, 2, 3}); err != nil || out[2] != 9 {
				t.Fatalf("pool after a death: %v, %v", out, err)
			}
		})
	}
}

func TestMapFailsFastOnWorkerDeath(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	_, err := multiproc.Map(ctxFor(t), p, crash, []string{"a", "sigkill", "c"}, multiproc.ChunkSize(1))
	asWorkerError(t, err)
	var te *multiproc.TaskError
	if !errors.As(err, &te) || te.Index != 1 {
		t.Fatalf("got %v, want a *TaskError for index 1", err)
	}
}

// A worker that writes garbage on its control socket is killed, and the task it held fails
// with an error that says so.
func TestBadDataFromAWorker(t *testing.T) {
	for _, kind := range []string{"text", "huge", "truncated"} {
		t.Run(kind, func(t *testing.T) {
			p := newPool(t, multiproc.Processes(1))
			_, err := multiproc.Apply(ctxFor(t), p, garbage, kind)
			we := asWorkerError(t, err)
			if kind != "truncated" && (we.Cause == nil || !strings.Contains(err.Error(), "bad data")) {
				t.Fatalf("got %v, want the reason the worker was killed", err)
			}
			if out, err := multiproc.Apply(ctxFor(t), p, square, 4); err != nil || out != 16 {
				t.Fatalf("pool after bad data: %v, %v", out, err)
			}
		})
	}
}

// Killing a worker kills the processes its task started.
func TestTaskChildrenDieWithTheirWorker(t *testing.T) {
	p := newPool(t, multiproc.Processes(1), multiproc.GracePeriod(50*time.Millisecond))
	path := t.TempDir() + "/pid"
	fut := multiproc.Submit(ctxFor(t), p, spawnChild, path)
	var pid int
	eventually(t, 10*time.Second, "the task's child started", func() bool {
		b, err := os.ReadFile(path)
		pid, _ = strconv.Atoi(string(b))
		return err == nil && pid > 0
	})
	fut.Cancel()
	if _, err := fut.Wait(ctxFor(t)); !errors.Is(err, errors.Unwrap(err)) && err == nil {
		t.Fatal("cancelled task succeeded")
	}
	eventually(t, 5*time.Second, "the task's child killed with its worker", func() bool { return !alive(pid) })
}

// A worker that dies between tasks fails no task: the task sent to it before its death was
// known runs on another worker. Closing the pool afterwards returns: a caller that read a dead
// worker's end must not leave the worker's read loop waiting.
func TestDeathBetweenTasksFailsNoTask(t *testing.T) {
	p, err := multiproc.NewPool(multiproc.Processes(2))
	if err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	for i := range 30 {
		info, err := multiproc.Apply(ctx, p, whoami, struct{}{})
		if err != nil {
			t.Fatal(err)
		}
		syscall.Kill(info.Pid, syscall.SIGKILL)
		if got, err := multiproc.Apply(ctx, p, square, i); err != nil || got != i*i {
			t.Fatalf("call %d right after a worker was killed between tasks: %d, %v", i, got, err)
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- p.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-ctx.Done():
		t.Fatal("Close did not return")
	}
}
