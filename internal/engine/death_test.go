package engine

import (
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
)

func TestBlame(t *testing.T) {
	// A batch of items 10..13 with id 5, of which items before 11 are finished.
	b := func(bounced int) *batch { return &batch{lo: 10, hi: 14, next: 11, id: 5, bounced: bounced} }
	for _, c := range []struct {
		name    string
		b       *batch
		n       int // its place among the batches the worker held
		st      lastStatus
		k       int
		bounced bool
	}{
		{"running one of its items", b(0), 0, lastStatus{running: true, batch: 5, item: 2, taken: 5}, 12, false},
		{"running one of them, not first held", b(0), 1, lastStatus{running: true, batch: 5, item: 3, taken: 5}, 13, false},
		{"running an item already finished", b(0), 0, lastStatus{running: true, batch: 5, item: 0, taken: 5}, -1, false},
		{"running another batch's item", b(0), 0, lastStatus{running: true, batch: 4, item: 0, taken: 5}, -1, false},
		{"between items, read but not begun", b(0), 0, lastStatus{batch: 4, taken: 5}, 11, false},
		{"between items, not read yet", b(0), 0, lastStatus{batch: 4, taken: 4}, -1, true},
		{"between items, begun: died after it", b(0), 0, lastStatus{batch: 5, item: 3, taken: 5}, -1, true},
		{"between items, not the first held", b(0), 1, lastStatus{batch: 4, taken: 5}, -1, false},
		{"bounced too often", b(maxBounces), 0, lastStatus{batch: 4, taken: 4}, 11, false},
		{"bounced, but another's item was running", b(maxBounces), 0, lastStatus{running: true, batch: 4, taken: 5}, -1, false},
	} {
		k, bounced := blame(c.b, c.n, c.st)
		if k != c.k || bounced != c.bounced {
			t.Errorf("%s: blame = %d, %v; want %d, %v", c.name, k, bounced, c.k, c.bounced)
		}
	}
}

func TestDecide(t *testing.T) {
	for _, c := range []struct {
		name               string
		next, hi, attempt  int
		k                  int
		requeue, retryable bool
		retries            int
		want               fate
	}{
		{"no requeue: all fail", 2, 6, 1, 3, false, true, 5, fate{failLo: 2, failHi: 6}},
		{"no requeue, none blamed: all fail", 2, 6, 1, -1, false, true, 5, fate{failLo: 2, failHi: 6}},
		{"none blamed: all again", 2, 6, 1, -1, true, true, 0, fate{again: []span{{2, 6, 1}}}},
		{"blamed, no retries: it fails", 2, 6, 1, 3, true, true, 0,
			fate{again: []span{{2, 3, 1}, {4, 6, 1}}, failLo: 3, failHi: 4}},
		{"blamed, retries left: it runs again", 2, 6, 1, 3, true, true, 1,
			fate{again: []span{{2, 3, 1}, {3, 4, 2}, {4, 6, 1}}}},
		{"blamed, retries spent", 2, 6, 2, 3, true, true, 1,
			fate{again: []span{{2, 3, 2}, {4, 6, 2}}, failLo: 3, failHi: 4}},
		{"blamed for a timeout: no retry", 2, 6, 1, 3, true, false, 5,
			fate{again: []span{{2, 3, 1}, {4, 6, 1}}, failLo: 3, failHi: 4}},
		{"blamed first item", 2, 6, 1, 2, true, true, 0, fate{again: []span{{3, 6, 1}}, failLo: 2, failHi: 3}},
		{"blamed last item", 2, 6, 1, 5, true, true, 0, fate{again: []span{{2, 5, 1}}, failLo: 5, failHi: 6}},
		{"single item retried", 0, 1, 3, 0, true, true, 5, fate{again: []span{{0, 1, 4}}}},
	} {
		got := decide(c.next, c.hi, c.attempt, c.k, c.requeue, c.retryable, c.retries)
		if !slices.Equal(got.again, c.want.again) || got.failLo != c.want.failLo || got.failHi != c.want.failHi {
			t.Errorf("%s: decide = %+v; want %+v", c.name, got, c.want)
		}
	}
}

func TestKillCauses(t *testing.T) {
	e := &Engine{}
	for _, c := range []struct {
		cause     killCause
		retryable bool
		counter   *atomic.Int64
		logged    string
	}{
		{causeNone, true, &e.died, "died"},
		{causeTimeout, false, &e.timedOut, "timeout"},
		{causeCanceled, true, &e.died, "canceled"},
		{causeStopped, true, &e.died, "stopped"},
		{causeRecycled, true, &e.recycled, "recycled"},
		{causeMemory, false, &e.memKilled, "memory limit"},
		{causeSocket, true, &e.died, "lost its control socket"},
	} {
		if c.cause.String() != c.logged {
			t.Errorf("cause %d is logged as %q; want %q", c.cause, c.cause, c.logged)
		}
		if c.cause.retryable() != c.retryable {
			t.Errorf("%v: retryable = %v", c.cause, !c.retryable)
		}
		if e.restartCounter(c.cause) != c.counter {
			t.Errorf("%v: counted in the wrong counter", c.cause)
		}
	}
}

func TestLostSocketConfirmed(t *testing.T) {
	for _, c := range []struct {
		cause killCause
		sig   syscall.Signal
		want  killCause
	}{
		{causeSocket, syscall.SIGKILL, causeSocket},
		{causeSocket, 0, causeNone},               // it exited by itself
		{causeSocket, syscall.SIGSEGV, causeNone}, // it crashed
		{causeTimeout, 0, causeTimeout},
		{causeNone, syscall.SIGKILL, causeNone},
	} {
		if got := c.cause.confirmed(c.sig); got != c.want {
			t.Errorf("%v ending with %v is taken for %v; want %v", c.cause, c.sig, got, c.want)
		}
	}
}
