//go:build unix

package shmqueue

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Tests with real processes, sharing the memory through an inherited file descriptor.

func TestAcrossProcesses(t *testing.T) {
	t.Parallel()
	r, q := newRegionQueue(t, MinRing, 16)
	var producers, consumers []*child
	for id := 1; id <= 2; id++ {
		producers = append(producers, start(t, r, "produce", strconv.Itoa(id), "500", strconv.Itoa(3*MinRing)))
	}
	for range 2 {
		consumers = append(consumers, start(t, r, "consume"))
	}
	l := newLedger()
	for _, p := range producers {
		l.puts(p.wait())
		if p.cmd.ProcessState.ExitCode() != 0 {
			t.Fatalf("a producer failed: %v", p.cmd.ProcessState)
		}
	}
	q.Close()
	for _, c := range consumers {
		if bad := l.takes(c.wait(), false); bad != "" {
			t.Fatal(bad)
		}
	}
	if len(l.put) != 1000 || len(l.got) != 1000 {
		t.Fatalf("%d items put, %d taken, want 1000", len(l.put), len(l.got))
	}
}

// ledger accounts for the items of a test.
type ledger struct {
	put     map[int]int  // items put, and their sizes
	got     map[int]int  // how many times each item was taken
	retaken map[int]bool // items a consumer said as it was killed, which may come again
}

func newLedger() *ledger {
	return &ledger{put: map[int]int{}, got: map[int]int{}, retaken: map[int]bool{}}
}

// puts notes what a producer said it put, and returns the last item, or -1.
func (l *ledger) puts(lines []string) (last int) {
	last = -1
	for _, line := range lines {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "put" {
			last, _ = strconv.Atoi(f[1])
			l.put[last], _ = strconv.Atoi(f[2])
		}
	}
	return last
}

// takes notes what a consumer said it took, and returns what was wrong, if anything. A
// consumer says an item before it takes it: killed, it may not have taken the last one it
// said, which may then come again, once.
func (l *ledger) takes(lines []string, killed bool) string {
	for i, line := range lines {
		switch {
		case strings.HasPrefix(line, "got "):
			k, _ := strconv.Atoi(line[4:])
			l.got[k]++
			if l.got[k] > 1 && !l.retaken[k] {
				return fmt.Sprintf("item %x taken twice", k)
			}
			if killed && i == len(lines)-1 {
				l.retaken[k] = true
			}
		case strings.HasPrefix(line, "bad ") || strings.HasPrefix(line, "error"):
			return "a consumer said " + line
		}
	}
	return ""
}

// TestKillAnywhere kills producers and consumers at random moments, many times, while they
// work: every item put is taken once, but for items larger than half the ring (which travel in
// pieces), one at most per consumer killed, which it had begun to take; an item whose producer died putting it is
// taken whole or not at all (the consumers check every item's bytes); and the queue keeps
// working for the survivors.
func TestKillAnywhere(t *testing.T) {
	t.Parallel()
	r, q := newRegionQueue(t, MinRing, 16)
	rounds := 60
	if testing.Short() {
		rounds = 15
	}
	id := 1
	newProducer := func() *child {
		id++
		return start(t, r, "produce", strconv.Itoa(id), "100000", strconv.Itoa(3*MinRing))
	}
	producers := []*child{newProducer(), newProducer()}
	consumers := []*child{start(t, r, "consume"), start(t, r, "consume")}
	l := newLedger()
	inFlight := map[int]bool{} // the item each killed producer may have been putting
	killProducer := func(i int) {
		first := nextIDOf(producers[i]) << 20
		if last := l.puts(producers[i].kill()); last >= 0 {
			inFlight[last+1] = true
		} else {
			inFlight[first] = true
		}
	}
	consumerKills := 0
	rnd := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0))
	for range rounds {
		for _, c := range append(producers, consumers...) {
			c.expect(t, "ready") // each lives a while: a slow start is not a kill
		}
		time.Sleep(time.Duration(rnd.IntN(20_000)) * time.Microsecond)
		i := rnd.IntN(2)
		if rnd.IntN(2) == 0 {
			killProducer(i)
			producers[i] = newProducer()
		} else {
			consumerKills++
			if bad := l.takes(consumers[i].kill(), true); bad != "" {
				t.Fatal(bad)
			}
			consumers[i] = start(t, r, "consume")
		}
	}
	for i := range producers {
		killProducer(i)
	}
	q.Close()
	for _, c := range consumers {
		if bad := l.takes(c.wait(), false); bad != "" {
			t.Fatal(bad)
		}
		if c.cmd.ProcessState.ExitCode() != 0 {
			t.Fatalf("a consumer failed after Close: %v", c.cmd.ProcessState)
		}
	}
	// An item is lost only when a consumer died reading it in chunks after it had moved the
	// tail past the first ones: for an item larger than half the ring.
	lost := 0
	for k, n := range l.put {
		if l.got[k] == 0 {
			lost++
			if n <= MinRing/2-4096 {
				t.Errorf("item %x of %d bytes, put, was never taken", k, n)
			}
		}
	}
	for k := range l.got {
		if _, ok := l.put[k]; !ok && !inFlight[k] {
			t.Errorf("item %x taken, never put", k)
		}
	}
	t.Logf("%d items put, %d taken; %d consumers killed, %d large items lost with them", len(l.put), len(l.got), consumerKills, lost)
	if lost > consumerKills {
		t.Fatalf("%d items lost, more than the %d consumers killed could have held", lost, consumerKills)
	}
	if len(l.put) < 1000 {
		t.Fatalf("only %d items put: the queue hardly worked", len(l.put))
	}
}

// nextIDOf is the producer id a producer child was started with.
func nextIDOf(c *child) int {
	f := strings.Fields(c.cmd.Env[len(c.cmd.Env)-1])
	id, _ := strconv.Atoi(f[1])
	return id
}

// TestConsumerKilledWhileWaiting: Python's queue wedges when a consumer dies inside get().
func TestConsumerKilledWhileWaiting(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	r, q := newRegionQueue(t, MinRing, 4)
	c := start(t, r, "consume")
	c.expect(t, "ready")
	for q.h.data.sleepers.Load() == 0 && q.h.getLock.Owner() == 0 {
		time.Sleep(time.Millisecond)
	}
	c.kill()
	if err := put(ctx, q, item(1, 100)); err != nil {
		t.Fatal(err)
	}
	b, err := get(ctx, q, true)
	if err != nil || string(b) != string(item(1, 100)) {
		t.Fatalf("after a consumer died waiting: %v", err)
	}
}

// TestTakeOver: a lock whose holder died is taken over; an item its producer died writing
// is dropped whole, whether a Put or a Get finds it first.
func TestTakeOver(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	r, q := newRegionQueue(t, MinRing, 4)
	holdByDead(&q.h.getLock)
	put(ctx, q, item(1, 10))
	if b, err := get(ctx, q, true); err != nil || string(b) != string(item(1, 10)) {
		t.Fatalf("Get with getLock held by a dead process: %v", err)
	}
	for _, first := range []string{"Put", "Get"} {
		// A producer killed in the middle of an item four rings long, with the ring full.
		c := start(t, r, "put-big", strconv.Itoa(4*MinRing))
		c.expect(t, "ready")
		for q.h.putOpen.Load() == 0 || q.size-used(q.h.head.Load(), q.h.tail.Load()) > 64 {
			time.Sleep(time.Millisecond)
		}
		c.kill()
		// The Put is waited for below either way: it may still be unlocking when the Get
		// has its item, and the region is unmapped when the test ends.
		putErr := make(chan error, 1)
		if first == "Put" {
			// The Put waits for room, which the Get below makes.
			go func() { putErr <- put(ctx, q, item(3, 10)) }()
		} else {
			go func() {
				time.Sleep(50 * time.Millisecond)
				putErr <- put(ctx, q, item(3, 10))
			}()
		}
		if b, err := get(ctx, q, true); err != nil || string(b) != string(item(3, 10)) {
			t.Fatalf("%s first after a producer died in an item: %v (%d bytes)", first, err, len(b))
		}
		if err := <-putErr; err != nil {
			t.Fatal(err)
		}
		if q.Len() != 0 || q.h.putOpen.Load() != 0 {
			t.Fatalf("Len %d, putOpen %d after the dead producer's item", q.Len(), q.h.putOpen.Load())
		}
	}
}

// TestPipePeerDies: the other end's owner is killed; what it sent is read, then ErrClosed,
// though this process still holds a copy of that end.
func TestPipePeerDies(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"hang", "close"} {
		ctx := testCtx(t)
		r, err := NewRegion(PipeSize(MinRing))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if err := InitPipe(r.Mem, MinRing, 0); err != nil {
			t.Fatal(err)
		}
		e0, _ := AttachEnd(r.Mem, 0)
		e1, _ := AttachEnd(r.Mem, 1) // the copy this process keeps, unused
		c := start(t, r, "pipe", "3", how)
		if how == "hang" {
			c.expect(t, "sent")
			c.kill()
		} else {
			c.wait()
		}
		if e1.Owned() {
			t.Fatal("end 1 still belongs to the process that passed it on")
		}
		for k := range 3 {
			var b []byte
			err := e0.Recv(ctx, func(p []byte, _ bool) error { b = append([]byte{}, p...); return nil })
			if err != nil || string(b) != string(item(k, 8+k)) {
				t.Fatalf("%s: message %d: %v", how, k, err)
			}
		}
		start := time.Now()
		if err := e0.Recv(ctx, func([]byte, bool) error { return nil }); !errors.Is(err, ErrClosed) {
			t.Fatalf("%s: Recv after the last message: %v", how, err)
		}
		t.Logf("%s: the end noticed in %v", how, time.Since(start))
		if err := e0.Send(ctx, [][]byte{{1}}); !errors.Is(err, ErrClosed) {
			t.Fatalf("%s: Send to a dead end: %v", how, err)
		}
		if err := e1.Send(ctx, [][]byte{{1}}); !errors.Is(err, ErrNotOwner) {
			t.Fatalf("%s: Send on an end passed on: %v", how, err)
		}
	}
}
