//go:build unix

package multiproc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

func TestStartWaitAndNames(t *testing.T) {
	ctx := ctxFor(t)
	p1, err := multiproc.Start(ctx, whoami, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := multiproc.Start(ctx, whoami, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	var n1, n2 int
	if _, err := fmt.Sscanf(p1.Name(), "Process-%d", &n1); err != nil {
		t.Fatalf("name %q", p1.Name())
	}
	if _, err := fmt.Sscanf(p2.Name(), "Process-%d", &n2); err != nil || n2 != n1+1 {
		t.Fatalf("names %q then %q", p1.Name(), p2.Name())
	}
	info, err := p1.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := multiproc.Info{Name: p1.Name(), Pid: p1.Pid(), ParentPid: multiproc.Current().Pid, IsWorker: true}
	if info != want {
		t.Fatalf("Current() in the process = %+v, want %+v", info, want)
	}
	select {
	case <-p1.Done():
	default:
		t.Fatal("Done not closed after Wait")
	}
	if alive(p1.Pid()) {
		t.Fatal("the process is still alive after Wait")
	}
	p2.Wait(ctx)

	p3, err := multiproc.Start(ctx, whoami, struct{}{}, multiproc.Name("custom"))
	if err != nil {
		t.Fatal(err)
	}
	if info, err := p3.Wait(ctx); err != nil || info.Name != "custom" || p3.Name() != "custom" {
		t.Fatalf("named process: %+v, %v", info, err)
	}
}

func TestProcessReturnsTheTaskError(t *testing.T) {
	p, err := multiproc.Start(ctxFor(t), failing, "custom")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctxFor(t)); !errors.Is(err, errCustom) {
		t.Fatalf("got %v, want the task's error", err)
	}
}

func TestProcessThatDoesNotReturn(t *testing.T) {
	for _, tc := range []struct {
		name     string
		how      string
		stop     func(p *multiproc.Process[string]) error
		exitCode int
		signal   syscall.Signal
	}{
		{"os.Exit(0)", "exit0", nil, 0, 0},
		{"os.Exit(3)", "exit3", nil, 3, 0},
		{"SIGKILL from itself", "sigkill", nil, -1, syscall.SIGKILL},
		{"Terminate", "!wait", (*multiproc.Process[string]).Terminate, -1, syscall.SIGTERM},
		{"Kill", "!wait", (*multiproc.Process[string]).Kill, -1, syscall.SIGKILL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := multiproc.Start(ctxFor(t), crash, tc.how)
			if err != nil {
				t.Fatal(err)
			}
			if tc.stop != nil {
				if err := tc.stop(p); err != nil {
					t.Fatal(err)
				}
			}
			_, err = p.Wait(ctxFor(t))
			we := asWorkerError(t, err)
			if we.Pid != p.Pid() || we.ExitCode != tc.exitCode || we.Signal != tc.signal {
				t.Fatalf("WorkerError = %+v, want pid %d, exit code %d, signal %v", we, p.Pid(), tc.exitCode, tc.signal)
			}
			if err := p.Kill(); err != nil {
				t.Fatalf("Kill after the end: %v", err)
			}
		})
	}
}

func TestProcessWaitBoundsOnlyTheWaiting(t *testing.T) {
	p, err := multiproc.Start(ctxFor(t), sleepy, 200*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := p.Wait(short); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait with a short ctx = %v", err)
	}
	if pid, err := p.Wait(ctxFor(t)); err != nil || pid != p.Pid() {
		t.Fatalf("the process did not go on: %d, %v", pid, err)
	}
}

func TestProcessOutputComesBeforeItsResult(t *testing.T) {
	var out, errOut bytes.Buffer
	for i := range 5 {
		out.Reset()
		errOut.Reset()
		msg := strings.Repeat(fmt.Sprintf("line %d\n", i), 1000)
		p, err := multiproc.Start(ctxFor(t), speak, msg, multiproc.Stdout(&out), multiproc.Stderr(&errOut))
		if err != nil {
			t.Fatal(err)
		}
		n, err := p.Wait(ctxFor(t))
		if err != nil || n != len(msg) {
			t.Fatalf("Wait = %d, %v", n, err)
		}
		if out.String() != msg || errOut.String() != msg {
			t.Fatalf("output incomplete when the result arrived: %d and %d of %d bytes", out.Len(), errOut.Len(), len(msg))
		}
	}
}

func TestPoolOutputComesBeforeResults(t *testing.T) {
	var out syncBuffer
	p := newPool(t, multiproc.Processes(2), multiproc.Stdout(&out))
	for i := range 20 {
		want := out.Len() + 6
		if _, err := multiproc.Apply(ctxFor(t), p, speak, fmt.Sprintf("out%02d\n", i)); err != nil {
			t.Fatal(err)
		}
		if out.Len() != want {
			t.Fatalf("after task %d, %d bytes of output, want %d", i, out.Len(), want)
		}
	}
}

func TestStartOptionsForPoolsOnly(t *testing.T) {
	for _, opt := range []multiproc.Option{multiproc.Processes(2), multiproc.MaxTasksPerWorker(3), multiproc.Retries(1)} {
		if _, err := multiproc.Start(context.Background(), square, 1, opt); !errors.Is(err, multiproc.ErrInvalidOption) {
			t.Fatalf("Start with a pool option: %v", err)
		}
	}
}
