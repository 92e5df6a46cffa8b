//go:build unix

package multiproc_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/testpoll"
)

// seq yields 0..n-1.
func seq(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

// endless yields 0, 1, 2, ... and counts what it yielded.
func endless(pulled *atomic.Int64) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := 0; ; i++ {
			pulled.Add(1)
			if !yield(i) {
				return
			}
		}
	}
}

func TestImapInOrder(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	for _, opts := range [][]multiproc.MapOption{nil, {multiproc.ChunkSize(1)}, {multiproc.ChunkSize(9)}} {
		i := 0
		for v, err := range multiproc.Imap(ctxFor(t), p, square, seq(2000), opts...) {
			if err != nil {
				t.Fatal(err)
			}
			if v != i*i {
				t.Fatalf("item %d = %d", i, v)
			}
			i++
		}
		if i != 2000 {
			t.Fatalf("Imap yielded %d items, want 2000", i)
		}
	}
}

func TestImapUnorderedYieldsEachOnce(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	seen := make([]bool, 1000)
	for r := range multiproc.ImapUnordered(ctxFor(t), p, square, seq(1000)) {
		if r.Err != nil {
			t.Fatal(r.Err)
		}
		if seen[r.Index] || r.Value != r.Index*r.Index {
			t.Fatalf("result %+v (seen before: %v)", r, seen[r.Index])
		}
		seen[r.Index] = true
	}
	if i := slices.Index(seen, false); i >= 0 {
		t.Fatalf("item %d never yielded", i)
	}
}

func TestImapGoesOnAfterAFailure(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	kinds := []string{"ok", "plain", "ok", "ok", "plain"}
	var got []string
	for v, err := range multiproc.Imap(ctxFor(t), p, failing, slices.Values(kinds)) {
		var te *multiproc.TaskError
		switch {
		case err == nil && v == 1:
			got = append(got, "ok")
		case errors.As(err, &te) && te.Index == len(got):
			got = append(got, "plain")
		default:
			t.Fatalf("item %d: %v, %v", len(got), v, err)
		}
	}
	if !slices.Equal(got, kinds) {
		t.Fatalf("got %v, want %v", got, kinds)
	}
}

func TestImapEndlessInputBoundedMemory(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	var pulled atomic.Int64
	n := 0
	for v, err := range multiproc.Imap(ctxFor(t), p, square, endless(&pulled)) {
		if err != nil || v != n*n {
			t.Fatalf("item %d: %d, %v", n, v, err)
		}
		n++
		if n == 5000 {
			break
		}
	}
	// The window is 1024 inputs: the input may run that far ahead, no further.
	if ahead := pulled.Load() - 5000; ahead > 1024+1 {
		t.Fatalf("Imap read %d inputs ahead of the consumer", ahead)
	}
}

func TestCancellingAStreamFreesThePool(t *testing.T) {
	p := newPool(t, multiproc.Processes(2), multiproc.GracePeriod(5*time.Second))
	slow := func(yield func(time.Duration) bool) {
		for {
			if !yield(time.Minute) {
				return
			}
		}
	}
	ctx, cancel := context.WithCancel(ctxFor(t))
	busy := make(chan bool, 1)
	go func() {
		busy <- testpoll.Until(10*time.Second, func() bool { return p.Stats().Busy >= 2 })
		cancel()
	}()
	n := 0
	for r := range multiproc.ImapUnordered(ctx, p, sleepy, slow) {
		n++
		if !errors.Is(r.Err, context.Canceled) {
			t.Fatalf("got %+v, want context.Canceled", r)
		}
	}
	if !<-busy {
		t.Fatal("both workers never got busy")
	}
	if n != 1 {
		t.Fatalf("a cancelled stream yielded %d items, want 1", n)
	}
	// The sleeping tasks honour their ctx, so the workers are free well within the grace period.
	begin := time.Now()
	if _, err := multiproc.Apply(ctxFor(t), p, square, 3); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Fatalf("the pool was busy for %v after the stream stopped", d)
	}
}

func TestImapBreakStopsTheStream(t *testing.T) {
	p := newPool(t, multiproc.Processes(2), multiproc.GracePeriod(5*time.Second))
	durations := func(yield func(time.Duration) bool) {
		if !yield(0) {
			return
		}
		for {
			if !yield(time.Minute) {
				return
			}
		}
	}
	for _, err := range multiproc.Imap(ctxFor(t), p, sleepy, durations) {
		if err != nil {
			t.Fatal(err)
		}
		break
	}
	begin := time.Now()
	if _, err := multiproc.Apply(ctxFor(t), p, square, 3); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(begin); d > 3*time.Second {
		t.Fatalf("the pool was busy for %v after the loop broke", d)
	}
}

func TestInputPanicIsRaisedAfterEarlierResults(t *testing.T) {
	p := newPool(t, multiproc.Processes(2))
	inputs := func(yield func(int) bool) {
		for i := range 10 {
			if !yield(i) {
				return
			}
		}
		panic("input broke")
	}
	n := 0
	func() {
		defer func() {
			if r := recover(); r != "input broke" {
				t.Fatalf("recovered %v, want the input's panic", r)
			}
		}()
		for v, err := range multiproc.Imap(ctxFor(t), p, square, inputs) {
			if err != nil || v != n*n {
				t.Fatalf("item %d: %d, %v", n, v, err)
			}
			n++
		}
		t.Fatal("the input's panic was not raised")
	}()
	if n != 10 {
		t.Fatalf("%d results before the panic, want 10", n)
	}
}

// A result must not wait behind a slow item of the same chunk: the quick first item of a
// chunk whose second item takes a minute arrives at once.
func TestResultDoesNotWaitBehindASlowItem(t *testing.T) {
	p := newPool(t, multiproc.Processes(1), multiproc.GracePeriod(5*time.Second))
	start := time.Now()
	for v, err := range multiproc.Imap(ctxFor(t), p, sleepy, slices.Values([]time.Duration{0, time.Minute}),
		multiproc.ChunkSize(2)) {
		if err != nil || v == 0 {
			t.Fatalf("first item: %d, %v", v, err)
		}
		break
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("the first result took %v", d)
	}
}
