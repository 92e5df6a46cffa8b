//go:build unix

package shmqueue

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/multiproc/multiproc/internal/shmsync"
)

// memory returns n zeroed bytes aligned as a mapping is.
func memory(n int) []byte {
	b := make([]byte, n+4096)
	off := 4096 - int(uintptr(unsafe.Pointer(&b[0]))%4096)
	return b[off : off+n : off+n]
}

// newQueue makes a queue in process memory.
func newQueue(t testing.TB, ringSize, capacity int) *Queue {
	t.Helper()
	mem := memory(Size(ringSize))
	if err := Init(mem, ringSize, capacity, 0); err != nil {
		t.Fatal(err)
	}
	q, err := Attach(mem)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// get takes an item and returns a copy of it.
func get(ctx context.Context, q *Queue, block bool) ([]byte, error) {
	var out []byte
	err := q.Get(ctx, block, func(b []byte, owned bool) error {
		if owned {
			out = b
		} else {
			out = append([]byte{}, b...)
		}
		return nil
	})
	return out, err
}

func put(ctx context.Context, q *Queue, b ...[]byte) error { return q.Put(ctx, b, true) }

// item is n bytes that say which item they are: its number, then a pattern from it.
func item(k, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(k*7 + i*13)
	}
	if n >= 8 {
		binary.LittleEndian.PutUint64(b, uint64(k))
	}
	return b
}

func TestFIFO(t *testing.T) {
	ctx := testCtx(t)
	q := newQueue(t, MinRing, 1000)
	sizes := []int{0, 1, 7, 8, 9, 100, 4000, MinRing/2 - 8, MinRing / 2, MinRing, 3*MinRing + 5}
	go func() {
		for k, n := range sizes {
			if err := put(ctx, q, item(k, n)); err != nil {
				t.Error(err)
			}
		}
	}()
	for k, n := range sizes {
		got, err := get(ctx, q, true)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, item(k, n)) {
			t.Fatalf("item %d of %d bytes: got %d bytes, not the same", k, n, len(got))
		}
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d after draining", q.Len())
	}
}

func TestSegmentsMakeOneItem(t *testing.T) {
	ctx := testCtx(t)
	q := newQueue(t, MinRing, 10)
	for _, n := range []int{10, MinRing * 2} {
		whole := item(n, n)
		go put(ctx, q, whole[:3], nil, whole[3:n/2], whole[n/2:])
		got, err := get(ctx, q, true)
		if err != nil || !bytes.Equal(got, whole) {
			t.Fatalf("%d bytes in segments: %v, equal %v", n, err, bytes.Equal(got, whole))
		}
	}
}

func TestCapacityAndTry(t *testing.T) {
	ctx := testCtx(t)
	q := newQueue(t, MinRing, 3)
	for k := range 3 {
		if err := q.Put(ctx, [][]byte{item(k, 16)}, false); err != nil {
			t.Fatal(err)
		}
	}
	if err := q.Put(ctx, [][]byte{item(3, 16)}, false); !errors.Is(err, ErrFull) {
		t.Fatalf("TryPut on a full queue: %v", err)
	}
	if q.Len() != 3 || q.Cap() != 3 {
		t.Fatalf("Len, Cap = %d, %d", q.Len(), q.Cap())
	}
	// A blocked Put goes on once an item is taken.
	done := make(chan error)
	go func() { done <- put(ctx, q, item(3, 16)) }()
	select {
	case err := <-done:
		t.Fatalf("Put on a full queue returned %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	for k := range 4 {
		got, err := get(ctx, q, true)
		if err != nil || !bytes.Equal(got, item(k, 16)) {
			t.Fatalf("item %d: %v", k, err)
		}
		if k == 0 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := get(ctx, q, false); !errors.Is(err, ErrEmpty) {
		t.Fatalf("TryGet on an empty queue: %v", err)
	}
}

func TestRoomIsBytesToo(t *testing.T) {
	ctx := testCtx(t)
	q := newQueue(t, MinRing, 100)
	big := item(1, MinRing/4-8) // two fit in one half
	n := 0
	for q.Put(ctx, [][]byte{big}, false) == nil {
		n++
	}
	if n != 4 {
		t.Fatalf("%d quarter-ring items fit, want 4", n)
	}
}

func TestClose(t *testing.T) {
	ctx := testCtx(t)
	q := newQueue(t, MinRing, 10)
	put(ctx, q, item(0, 10))
	put(ctx, q, item(1, MinRing/2)) // chunked, and fits
	// Sleepers in Get on another queue and in Put on a full one wake on Close.
	empty := newQueue(t, MinRing, 1)
	full := newQueue(t, MinRing, 1)
	put(ctx, full, item(0, 1))
	errs := make(chan error, 2)
	go func() { _, err := get(ctx, empty, true); errs <- err }()
	go func() { errs <- put(ctx, full, item(1, 1)) }()
	time.Sleep(20 * time.Millisecond)
	empty.Close()
	full.Close()
	for range 2 {
		if err := <-errs; !errors.Is(err, ErrClosed) {
			t.Fatalf("a sleeper woken by Close: %v", err)
		}
	}

	q.Close()
	if err := put(ctx, q, item(2, 1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Put after Close: %v", err)
	}
	if err := q.Put(ctx, [][]byte{item(2, 1)}, false); !errors.Is(err, ErrClosed) {
		t.Fatalf("TryPut after Close: %v", err)
	}
	for k, n := range []int{10, MinRing / 2} {
		got, err := get(ctx, q, false)
		if err != nil || !bytes.Equal(got, item(k, n)) {
			t.Fatalf("item %d after Close: %v", k, err)
		}
	}
	for _, block := range []bool{false, true} {
		if _, err := get(ctx, q, block); !errors.Is(err, ErrClosed) {
			t.Fatalf("Get (block %v) on a closed, drained queue: %v", block, err)
		}
	}
}

func TestCloseEndsAChunkedPut(t *testing.T) {
	ctx := testCtx(t)
	q := newQueue(t, MinRing, 10)
	errs := make(chan error)
	go func() { errs <- put(ctx, q, item(0, 4*MinRing)) }()
	// The Put fills the ring and waits for room; Close makes it abort the item.
	for q.size-used(q.h.head.Load(), q.h.tail.Load()) > 64 {
		time.Sleep(time.Millisecond)
	}
	q.Close()
	if err := <-errs; !errors.Is(err, ErrClosed) {
		t.Fatalf("chunked Put cut by Close: %v", err)
	}
	if _, err := get(ctx, q, true); !errors.Is(err, ErrClosed) {
		t.Fatalf("Get of an item cut by Close: %v, want ErrClosed", err)
	}
}

func TestContext(t *testing.T) {
	q := newQueue(t, MinRing, 1)
	for _, what := range []string{"Get", "Put", "chunked Put", "Join"} {
		ctx, cancel := context.WithCancel(context.Background())
		errs := make(chan error)
		go func() {
			switch what {
			case "Get":
				_, err := get(ctx, q, true)
				errs <- err
			case "Put":
				put(ctx, q, item(0, 1)) // fills the queue
				errs <- put(ctx, q, item(1, 1))
			case "chunked Put":
				errs <- put(ctx, q, item(1, 4*MinRing))
			case "Join":
				errs <- q.Join(ctx)
			}
		}()
		time.Sleep(10 * time.Millisecond)
		cancel()
		select {
		case err := <-errs:
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: still blocked after its ctx ended", what)
		}
	}
}

func TestTaskDoneJoin(t *testing.T) {
	ctx := testCtx(t)
	q := newQueue(t, MinRing, 10)
	if err := q.Join(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.TaskDone(); !errors.Is(err, ErrTaskDone) {
		t.Fatalf("TaskDone with nothing put: %v", err)
	}
	put(ctx, q, item(0, 1))
	put(ctx, q, item(1, 1))
	joined := make(chan error)
	go func() { joined <- q.Join(ctx) }()
	for range 2 {
		get(ctx, q, true)
		select {
		case err := <-joined:
			t.Fatalf("Join returned %v with a task not done", err)
		case <-time.After(10 * time.Millisecond):
		}
		if err := q.TaskDone(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-joined; err != nil {
		t.Fatal(err)
	}
	if err := q.TaskDone(); !errors.Is(err, ErrTaskDone) {
		t.Fatalf("a third TaskDone for two items: %v", err)
	}
}

// TestManyProducersAndConsumers runs goroutines as producers and consumers: every item comes
// out once, whole, and in its producer's order.
func TestManyProducersAndConsumers(t *testing.T) {
	ctx := testCtx(t)
	q := newQueue(t, MinRing, 64)
	const producers, consumers, perProducer = 4, 4, 2000
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(p), 1))
			for k := range perProducer {
				n := 16 + r.IntN(64)
				if k%97 == 0 {
					n = r.IntN(3 * MinRing)
				}
				b := item(p<<20|k, max(n, 8))
				if err := put(ctx, q, b); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	var mu sync.Mutex
	seen := map[int]bool{}
	var cwg sync.WaitGroup
	for range consumers {
		cwg.Add(1)
		go func() {
			defer cwg.Done()
			last := map[int]int{}
			for {
				b, err := get(ctx, q, true)
				if errors.Is(err, ErrClosed) {
					return
				}
				if err != nil {
					t.Error(err)
					return
				}
				k := int(binary.LittleEndian.Uint64(b))
				if !bytes.Equal(b, item(k, len(b))) {
					t.Errorf("item %x corrupt", k)
				}
				if prev, ok := last[k>>20]; ok && prev >= k {
					t.Errorf("item %x after %x from the same producer", k, prev)
				}
				last[k>>20] = k
				mu.Lock()
				if seen[k] {
					t.Errorf("item %x twice", k)
				}
				seen[k] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	q.Close()
	cwg.Wait()
	if len(seen) != producers*perProducer {
		t.Fatalf("%d items came out of %d", len(seen), producers*perProducer)
	}
}

var _ = fmt.Sprint

// TestTryDoesNotWait: TryPut and TryGet give up on a lock held for long (by a producer or
// consumer of a large item, say) instead of waiting for it; Put and Get wait, as their ctx
// allows.
func TestTryDoesNotWait(t *testing.T) {
	ctx := testCtx(t)
	q := newQueue(t, MinRing, 4)
	put(ctx, q, item(1, 8))
	for _, l := range []*shmsync.Mutex{&q.h.putLock, &q.h.getLock} {
		l.Lock(ctx)
		start := time.Now()
		var try, wait error
		short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
		if l == &q.h.putLock {
			try = q.Put(ctx, [][]byte{item(2, 8)}, false)
			wait = q.Put(short, [][]byte{item(2, 8)}, true)
			if !errors.Is(try, ErrFull) {
				t.Errorf("TryPut with putLock held: %v, want ErrFull", try)
			}
		} else {
			_, try = get(ctx, q, false)
			_, wait = get(short, q, true)
			if !errors.Is(try, ErrEmpty) {
				t.Errorf("TryGet with getLock held: %v, want ErrEmpty", try)
			}
		}
		cancel()
		if !errors.Is(wait, context.DeadlineExceeded) {
			t.Errorf("a blocking call with its lock held: %v, want its ctx's end", wait)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %v", d)
		}
		l.Unlock()
	}
	if b, err := get(ctx, q, false); err != nil || string(b) != string(item(1, 8)) {
		t.Fatalf("TryGet once the locks are free: %v", err)
	}
}

// TestGetLeavesAnItemWhole: a Get whose ctx ends while it waits for the rest of an item that
// fits in the ring leaves the item in the queue, its tail unmoved.
func TestGetLeavesAnItemWhole(t *testing.T) {
	ctx := testCtx(t)
	q := newQueue(t, MinRing, 4)
	// The first piece of an item of 40000 bytes, from a producer that holds putLock and
	// writes no more for now.
	q.h.putLock.Lock(ctx)
	const total, first = 40000, 1000
	q.writeHeader(0, 8+first, flagFirst)
	var lb [8]byte
	binary.LittleEndian.PutUint64(lb[:], total)
	q.copyIn(recHeader, lb[:])
	q.copyIn(recHeader+8, item(7, total)[:first])
	q.h.putOpen.Store(1)
	q.h.head.Swap(pack(0, recordSize(8+first)))

	short, cancel := context.WithTimeout(ctx, 30*time.Millisecond)
	defer cancel()
	if _, err := get(short, q, true); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Get in the middle of an item, its ctx ended: %v", err)
	}
	if q.h.tail.Load() != 0 {
		t.Fatal("the tail moved past the beginning of an item the Get gave up")
	}
	// The producer writes the rest; the next Get takes the item whole.
	rest := item(7, total)[first:]
	go func() {
		pos := recordSize(8 + first)
		q.writeHeader(pos, uint32(len(rest)), flagLast)
		q.copyIn(pos+recHeader, rest)
		q.h.putOpen.Store(0)
		q.h.head.Swap(pack(1, pos+recordSize(uint64(len(rest)))))
		wake(&q.h.data)
		q.unlockPut()
	}()
	b, err := get(ctx, q, true)
	if err != nil || !bytes.Equal(b, item(7, total)) {
		t.Fatalf("Get of the item once written: %v, %d bytes", err, len(b))
	}
}
