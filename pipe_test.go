//go:build unix

package multiproc_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// Tests of Pipe and Conn, in one process and between a parent and its children.

var (
	// pipeEcho answers every number with the next, until the other end closes.
	pipeEcho = multiproc.Register("pipe.echo", func(ctx context.Context, c *multiproc.Conn[int]) (int, error) {
		n := 0
		for {
			v, err := c.Recv(ctx)
			if errors.Is(err, io.EOF) {
				return n, nil
			}
			if err != nil {
				return n, err
			}
			if err := c.Send(ctx, v+1); err != nil {
				return n, err
			}
			n++
		}
	})
	// pipeSendAndHang sends three numbers, says so, and waits for its end.
	pipeSendAndHang = multiproc.Register("pipe.sendAndHang", func(ctx context.Context, c *multiproc.Conn[int]) (int, error) {
		for i := range 3 {
			if err := c.Send(ctx, i); err != nil {
				return 0, err
			}
		}
		<-ctx.Done()
		return 0, ctx.Err()
	})
)

func newPipe[T any](t *testing.T) (*multiproc.Conn[T], *multiproc.Conn[T]) {
	t.Helper()
	a, b, err := multiproc.NewPipe[T]()
	if err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestPipeBothWays(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	a, b := newPipe[string](t)
	if err := a.Send(ctx, "ping"); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(ctx, "pong"); err != nil {
		t.Fatal(err)
	}
	if v, err := b.Recv(ctx); v != "ping" || err != nil {
		t.Fatalf("b received %q, %v", v, err)
	}
	if v, err := a.Recv(ctx); v != "pong" || err != nil {
		t.Fatalf("a received %q, %v", v, err)
	}
}

func TestPipeClose(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	a, b := newPipe[int](t)
	a.Send(ctx, 1)
	a.Send(ctx, 2)
	// A Recv waiting in b when a closes wakes after what was sent.
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []int{1, 2} {
		if v, err := b.Recv(ctx); v != want || err != nil {
			t.Fatalf("Recv after the other end closed: %v, %v; want %d", v, err, want)
		}
	}
	if _, err := b.Recv(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("Recv once all was read: %v, want io.EOF", err)
	}
	if err := b.Send(ctx, 3); !errors.Is(err, multiproc.ErrClosed) {
		t.Fatalf("Send to a closed end: %v, want ErrClosed", err)
	}
	a.Close()
}

func TestPipeWakesOnClose(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	a, b := newPipe[int](t)
	got := make(chan error, 1)
	go func() { _, err := b.Recv(ctx); got <- err }()
	time.Sleep(20 * time.Millisecond)
	a.Close()
	select {
	case err := <-got:
		if !errors.Is(err, io.EOF) {
			t.Fatalf("a waiting Recv when the other end closed: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting Recv did not wake when the other end closed")
	}
}

func TestPipeContext(t *testing.T) {
	t.Parallel()
	_, b := newPipe[int](t)
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() { _, err := b.Recv(ctx); got <- err }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-got:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Recv whose ctx was cancelled: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Recv did not return when its ctx was cancelled")
	}
}

func TestPipeBadInput(t *testing.T) {
	t.Parallel()
	if _, _, err := multiproc.NewPipe[chan int](); err == nil || !strings.Contains(err.Error(), "chan int") {
		t.Fatalf("NewPipe[chan int]: %v, want an error naming the type", err)
	}
	a, _ := newPipe[any](t)
	other, _ := newPipe[int](t)
	if err := a.Send(ctxFor(t), other); err == nil || !strings.Contains(err.Error(), "Conn") {
		t.Fatalf("Send of a Conn on a Pipe: %v, want an error saying so", err)
	}
}

// TestPipePingPong: the parent and a child answer each other over a pipe.
func TestPipePingPong(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	mine, theirs := newPipe[int](t)
	proc, err := multiproc.Start(ctx, pipeEcho, theirs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if err := mine.Send(ctx, i); err != nil {
			t.Fatal(err)
		}
		if v, err := mine.Recv(ctx); v != i+1 || err != nil {
			t.Fatalf("answer to %d: %v, %v", i, v, err)
		}
	}
	mine.Close()
	if n, err := proc.Wait(ctx); n != 1000 || err != nil {
		t.Fatalf("the child answered %d, %v", n, err)
	}
}

// TestPipeOwnerDies: the child owning the other end is killed; this end reads what it sent,
// then io.EOF, though the parent still holds its own, unused, copy of that end.
func TestPipeOwnerDies(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	mine, theirs := newPipe[int](t)
	proc, err := multiproc.Start(ctx, pipeSendAndHang, theirs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if v, err := mine.Recv(ctx); v != i || err != nil {
			t.Fatalf("message %d: %v, %v", i, v, err)
		}
	}
	proc.Kill()
	start := time.Now()
	if _, err := mine.Recv(ctx); !errors.Is(err, io.EOF) {
		t.Fatalf("Recv after the other end's owner died: %v, want io.EOF", err)
	}
	t.Logf("io.EOF %v after the kill", time.Since(start))
	if err := mine.Send(ctx, 1); !errors.Is(err, multiproc.ErrClosed) {
		t.Fatalf("Send to a dead end: %v, want ErrClosed", err)
	}
	if err := theirs.Send(ctx, 1); err == nil || !strings.Contains(err.Error(), "passed on") {
		t.Fatalf("Send on an end passed to another process: %v", err)
	}
}

func ExampleNewPipe() {
	ctx := context.Background()
	parentConn, childConn, err := multiproc.NewPipe[int]()
	if err != nil {
		panic(err)
	}
	// The child owns its end from now on; pipeEcho answers every number with the next.
	child, err := multiproc.Start(ctx, pipeEcho, childConn)
	if err != nil {
		panic(err)
	}
	for _, v := range []int{1, 41} {
		parentConn.Send(ctx, v)
		answer, _ := parentConn.Recv(ctx)
		fmt.Println(v, "->", answer)
	}
	parentConn.Close() // the child's Recv returns io.EOF
	fmt.Println(child.Wait(ctx))
	// Output:
	// 1 -> 2
	// 41 -> 42
	// 2 <nil>
}
