//go:build unix

package multiproc_test

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// closeSocket closes the worker's end of its control socket (file descriptor 3), as a task
// that closes file descriptors it does not own might.
var closeSocket = multiproc.Register("test.closeSocket", func(_ context.Context, _ int) (int, error) {
	syscall.Close(3)
	return os.Getpid(), nil
})

// A worker that lost its control socket cannot be woken by the parent any more: the parent
// notices the socket's end, kills it and starts a replacement.
func TestWorkerThatLostItsSocketIsReplaced(t *testing.T) {
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	pid, err := multiproc.Apply(ctx, p, closeSocket, 0)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the worker replaced", func() bool { return p.Stats().Died == 1 })
	info, err := multiproc.Apply(ctx, p, whoami, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if info.Pid == pid {
		t.Fatalf("the worker %d that lost its socket still serves", pid)
	}
}

// The task running when its worker lost its socket fails with a *WorkerError that says so.
func TestTaskThatClosesTheSocketFails(t *testing.T) {
	p := newPool(t, multiproc.Processes(1))
	ctx := ctxFor(t)
	_, err := multiproc.Apply(ctx, p, closeSocketAndWait, 0)
	we := asWorkerError(t, err)
	if !strings.Contains(we.Error(), "control socket") || we.Signal != syscall.SIGKILL {
		t.Fatalf("got %v; want a kill for the lost control socket", err)
	}
	if _, err := multiproc.Apply(ctx, p, square, 3); err != nil {
		t.Fatalf("after the replacement: %v", err)
	}
}

// closeSocketAndWait closes the control socket and waits for ever.
var closeSocketAndWait = multiproc.Register("test.closeSocketAndWait", func(_ context.Context, _ int) (int, error) {
	syscall.Close(3)
	select {}
})
