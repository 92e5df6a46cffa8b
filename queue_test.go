//go:build unix

package multiproc_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
)

// Tests of Queue: its semantics in one process, then with producers and consumers in worker
// processes, killed or not.

type queueJob struct {
	Q     *multiproc.Queue[int]
	From  int
	Count int
}

var (
	// queueProduce puts Count numbers from From.
	queueProduce = multiproc.Register("queue.produce", func(ctx context.Context, j queueJob) (int, error) {
		for i := range j.Count {
			if err := j.Q.Put(ctx, j.From+i); err != nil {
				return i, err
			}
		}
		return j.Count, nil
	})
	// queueConsume takes numbers until the queue is closed and drained, and returns them.
	queueConsume = multiproc.Register("queue.consume", func(ctx context.Context, q *multiproc.Queue[int]) ([]int, error) {
		var got []int
		for v, err := range q.All(ctx) {
			if err != nil {
				return got, err
			}
			got = append(got, v)
		}
		return got, nil
	})
	// queueWork takes Count numbers, marking each done once handled (JoinableQueue's way).
	queueWork = multiproc.Register("queue.work", func(ctx context.Context, j queueJob) (int, error) {
		for i := range j.Count {
			if _, err := j.Q.Get(ctx); err != nil {
				return i, err
			}
			if err := j.Q.TaskDone(); err != nil {
				return i, err
			}
		}
		return j.Count, nil
	})
	// queueGetOne waits for one number.
	queueGetOne = multiproc.Register("queue.getOne", func(ctx context.Context, q *multiproc.Queue[int]) (int, error) {
		return q.Get(ctx)
	})
	// queueMake makes a queue in a worker, puts a number on it and returns it.
	queueMake = multiproc.Register("queue.make", func(ctx context.Context, n int) (*multiproc.Queue[int], error) {
		q, err := multiproc.NewQueue[int](4)
		if err != nil {
			return nil, err
		}
		return q, q.Put(ctx, n)
	})
	// queueFDs counts the worker's descriptors once its garbage is collected.
	queueFDs = multiproc.Register("queue.fds", func(ctx context.Context, _ int) (int, error) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond) // the handles' cleanups run after the collection
		ents, err := os.ReadDir("/proc/self/fd")
		return len(ents), err
	})
	queueDrop = multiproc.Register("queue.drop", func(ctx context.Context, q *multiproc.Queue[[]byte]) (int, error) {
		return q.Cap(), nil
	})
	connDrop = multiproc.Register("pipe.drop", func(ctx context.Context, c *multiproc.Conn[[]byte]) (int, error) {
		return 0, c.Close()
	})
)

func newQueue[T any](t *testing.T, capacity int) *multiproc.Queue[T] {
	t.Helper()
	q, err := multiproc.NewQueue[T](capacity)
	if err != nil {
		t.Fatal(err)
	}
	return q
}

func TestQueueBadInput(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, -1} {
		if _, err := multiproc.NewQueue[int](n); !errors.Is(err, multiproc.ErrInvalidOption) {
			t.Errorf("NewQueue(%d): %v, want ErrInvalidOption", n, err)
		}
	}
	if _, err := multiproc.NewQueue[func()](1); err == nil || !strings.Contains(err.Error(), "func()") {
		t.Errorf("NewQueue[func()]: %v, want an error naming the type", err)
	}
	// A handle does not travel through a queue; the Put says so and puts nothing.
	type withQueue struct{ Q *multiproc.Queue[int] }
	q := newQueue[withQueue](t, 1)
	if err := q.Put(ctxFor(t), withQueue{Q: newQueue[int](t, 1)}); err == nil || !strings.Contains(err.Error(), "Queue") {
		t.Errorf("Put of a Queue on a Queue: %v, want an error saying so", err)
	}
	if err := q.TryPut(withQueue{}); err != nil {
		t.Errorf("Put of a nil handle: %v", err)
	}
}

func TestQueueValues(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	type point struct {
		X, Y int
		Name string
	}
	roundTrip(t, ctx, newQueue[int](t, 4), 0, 1, -7, 1<<62)
	roundTrip(t, ctx, newQueue[string](t, 4), "", "a", strings.Repeat("x", 3<<20))
	roundTrip(t, ctx, newQueue[point](t, 4), point{}, point{1, 2, "p"})
	roundTrip(t, ctx, newQueue[[]float64](t, 4), nil, []float64{1.5, 2})
	roundTrip(t, ctx, newQueue[map[string]int](t, 4), map[string]int{"a": 1})
	big := make([]byte, 8<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	roundTrip(t, ctx, newQueue[[]byte](t, 4), nil, []byte("small"), big)
}

// roundTrip puts vs on q from another goroutine and takes them back, in order.
func roundTrip[T any](t *testing.T, ctx context.Context, q *multiproc.Queue[T], vs ...T) {
	t.Helper()
	go func() {
		for _, v := range vs {
			if err := q.Put(ctx, v); err != nil {
				t.Error(err)
			}
		}
	}()
	for _, want := range vs {
		got, err := q.Get(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !equalValues(got, want) {
			t.Fatalf("a %T came out of the queue changed", want)
		}
	}
}

func equalValues(a, b any) bool {
	if x, ok := a.([]byte); ok {
		return bytes.Equal(x, b.([]byte))
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func TestQueueFullEmptyClosed(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	q := newQueue[int](t, 2)
	if q.Cap() != 2 || q.Len() != 0 {
		t.Fatalf("Cap, Len = %d, %d", q.Cap(), q.Len())
	}
	if _, err := q.TryGet(); !errors.Is(err, multiproc.ErrEmpty) {
		t.Fatalf("TryGet on an empty queue: %v", err)
	}
	q.Put(ctx, 1)
	q.TryPut(2)
	if err := q.TryPut(3); !errors.Is(err, multiproc.ErrFull) {
		t.Fatalf("TryPut on a full queue: %v", err)
	}
	if q.Len() != 2 {
		t.Fatalf("Len = %d", q.Len())
	}
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q.Close()
	if err := q.Put(ctx, 3); !errors.Is(err, multiproc.ErrClosed) {
		t.Fatalf("Put on a closed queue: %v", err)
	}
	if err := q.TryPut(3); !errors.Is(err, multiproc.ErrClosed) {
		t.Fatalf("TryPut on a closed queue: %v", err)
	}
	if v, err := q.TryGet(); v != 1 || err != nil {
		t.Fatalf("TryGet on a closed queue with items: %v, %v", v, err)
	}
	if v, err := q.Get(ctx); v != 2 || err != nil {
		t.Fatalf("Get on a closed queue with items: %v, %v", v, err)
	}
	if _, err := q.TryGet(); !errors.Is(err, multiproc.ErrClosed) {
		t.Fatalf("TryGet on a closed, drained queue: %v, want ErrClosed", err)
	}
	if _, err := q.Get(ctx); !errors.Is(err, multiproc.ErrClosed) {
		t.Fatalf("Get on a closed, drained queue: %v", err)
	}
}

func TestQueueAll(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	q := newQueue[int](t, 10)
	for i := range 5 {
		q.Put(ctx, i)
	}
	q.Close()
	var got []int
	for v, err := range q.All(ctx) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Fatalf("All yielded %v", got)
	}

	// A ctx that ends: one error, then the end.
	q = newQueue[int](t, 10)
	q.Put(ctx, 7)
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	var errs []error
	got = nil
	for v, err := range q.All(cctx) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		got = append(got, v)
	}
	if !slices.Equal(got, []int{7}) || len(errs) != 1 || !errors.Is(errs[0], context.DeadlineExceeded) {
		t.Fatalf("All with a ctx that ends: %v, %v", got, errs)
	}
}

func TestQueueContext(t *testing.T) {
	t.Parallel()
	q := newQueue[int](t, 1)
	q.Put(ctxFor(t), 1)
	for _, what := range []string{"Get on an empty queue", "Put on a full queue", "Join"} {
		empty := newQueue[int](t, 1)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			var err error
			switch what {
			case "Get on an empty queue":
				_, err = empty.Get(ctx)
			case "Put on a full queue":
				err = q.Put(ctx, 2)
			case "Join":
				err = q.Join(ctx)
			}
			done <- err
		}()
		time.Sleep(20 * time.Millisecond)
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("%s: %v, want context.Canceled", what, err)
			}
			t.Logf("%s returned %v after its ctx was cancelled", what, time.Since(start))
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: still waiting after its ctx was cancelled", what)
		}
	}
}

func TestQueueTaskDoneJoin(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	q := newQueue[int](t, 10)
	if err := q.TaskDone(); err == nil {
		t.Fatal("TaskDone with nothing put succeeded")
	}
	q.Put(ctx, 1)
	q.Put(ctx, 2)
	joined := make(chan error, 1)
	go func() { joined <- q.Join(ctx) }()
	for i := range 2 {
		q.Get(ctx)
		select {
		case err := <-joined:
			t.Fatalf("Join returned (%v) after %d of 2 TaskDone", err, i)
		case <-time.After(10 * time.Millisecond):
		}
		if err := q.TaskDone(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-joined; err != nil {
		t.Fatal(err)
	}
	if err := q.TaskDone(); err == nil {
		t.Fatal("a third TaskDone for two items succeeded")
	}
}

// TestQueueJoinAcrossProcesses: Join in the parent returns once workers have marked every
// item done.
func TestQueueJoinAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	p := newPool(t, multiproc.Processes(2))
	q := newQueue[int](t, 1000)
	for i := range 200 {
		q.Put(ctx, i)
	}
	workers := []*multiproc.Future[int]{
		multiproc.Submit(ctx, p, queueWork, queueJob{Q: q, Count: 100}),
		multiproc.Submit(ctx, p, queueWork, queueJob{Q: q, Count: 100}),
	}
	if err := q.Join(ctx); err != nil {
		t.Fatal(err)
	}
	for _, f := range workers {
		if n, err := f.Wait(ctx); n != 100 || err != nil {
			t.Fatalf("a worker handled %d: %v", n, err)
		}
	}
	if q.Len() != 0 {
		t.Fatalf("Len = %d after Join", q.Len())
	}
	if err := q.TaskDone(); err == nil {
		t.Fatal("TaskDone once every item was done succeeded")
	}
}

// TestQueueAcrossProcesses: two producer processes and two consumer processes; every item
// comes out once. Close, in the parent, ends the consumers' All.
func TestQueueAcrossProcesses(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	p := newPool(t, multiproc.Processes(4))
	q := newQueue[int](t, 64)
	consumers := []*multiproc.Future[[]int]{
		multiproc.Submit(ctx, p, queueConsume, q),
		multiproc.Submit(ctx, p, queueConsume, q),
	}
	const n = 20000
	producers := []*multiproc.Future[int]{
		multiproc.Submit(ctx, p, queueProduce, queueJob{Q: q, From: 0, Count: n}),
		multiproc.Submit(ctx, p, queueProduce, queueJob{Q: q, From: n, Count: n}),
	}
	for _, f := range producers {
		if _, err := f.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}
	q.Close()
	seen := make([]bool, 2*n)
	for _, f := range consumers {
		got, err := f.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		last := [2]int{-1, -1}
		for _, v := range got {
			if seen[v] {
				t.Fatalf("%d taken twice", v)
			}
			seen[v] = true
			if v <= last[v/n] {
				t.Fatalf("%d after %d from the same producer", v, last[v/n])
			}
			last[v/n] = v
		}
	}
	if i := slices.Index(seen, false); i >= 0 {
		t.Fatalf("%d never taken", i)
	}
}

// TestQueueCloseWakesOtherProcesses: a worker waiting in Get wakes when the parent closes
// the queue.
func TestQueueCloseWakesOtherProcesses(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	q := newQueue[int](t, 1)
	proc, err := multiproc.Start(ctx, queueGetOne, q)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	q.Close()
	if _, err := proc.Wait(ctx); !errors.Is(err, multiproc.ErrClosed) {
		t.Fatalf("a worker's Get when the queue was closed: %v, want ErrClosed", err)
	}
}

// TestQueueConsumerKilled: a consumer killed while it waits in Get takes nothing with it,
// and the queue goes on working (Python's wedges: the dead process holds its read lock).
func TestQueueConsumerKilled(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	q := newQueue[int](t, 4)
	for range 3 {
		proc, err := multiproc.Start(ctx, queueGetOne, q)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
		proc.Kill()
		proc.Wait(ctx)
	}
	q.Put(ctx, 42)
	proc, err := multiproc.Start(ctx, queueGetOne, q)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := proc.Wait(ctx); v != 42 || err != nil {
		t.Fatalf("a consumer after three were killed waiting: %v, %v", v, err)
	}
}

func TestQueueMadeInWorker(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	p := newPool(t, multiproc.Processes(1))
	q, err := multiproc.Apply(ctx, p, queueMake, 5)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := q.Get(ctx); v != 5 || err != nil {
		t.Fatalf("Get from a queue made in a worker: %v, %v", v, err)
	}
}

// TestQueueNoLeaks makes, passes and drops queues and pipes many times: no descriptor stays
// open, in the parent or in the worker.
func TestQueueNoLeaks(t *testing.T) {
	ctx := ctxFor(t)
	p := newPool(t, multiproc.Processes(1))
	cycle := func() {
		q, err := multiproc.NewQueue[[]byte](8)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := multiproc.Apply(ctx, p, queueDrop, q); err != nil {
			t.Fatal(err)
		}
		_, theirs, err := multiproc.NewPipe[[]byte]()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := multiproc.Apply(ctx, p, connDrop, theirs); err != nil {
			t.Fatal(err)
		}
	}
	cycle()
	runtime.GC()
	before := openFDs(t)
	workerBefore, err := multiproc.Apply(ctx, p, queueFDs, 0)
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		cycle()
	}
	eventually(t, 10*time.Second, "the worker's descriptors back to where they were", func() bool {
		n, err := multiproc.Apply(ctx, p, queueFDs, 0)
		return err == nil && n <= workerBefore+1
	})
	eventually(t, 10*time.Second, "descriptors back to where they were", func() bool {
		runtime.GC()
		return openFDs(t) <= before+1
	})
}

// exampleProduce puts 1, 2 and 3 on the queue, then closes it.
var exampleProduce = multiproc.Register("example.produce", func(ctx context.Context, q *multiproc.Queue[int]) (struct{}, error) {
	for i := 1; i <= 3; i++ {
		if err := q.Put(ctx, i); err != nil {
			return struct{}{}, err
		}
	}
	return struct{}{}, q.Close()
})

func ExampleQueue() {
	ctx := context.Background()
	q, err := multiproc.NewQueue[int](8)
	if err != nil {
		panic(err)
	}
	// The queue travels to the process as its argument: the same queue there.
	producer, err := multiproc.Start(ctx, exampleProduce, q)
	if err != nil {
		panic(err)
	}
	// All ends once the producer has closed the queue and every item is taken.
	for v, err := range q.All(ctx) {
		if err != nil {
			panic(err)
		}
		fmt.Println(v)
	}
	producer.Wait(ctx)
	// Output:
	// 1
	// 2
	// 3
}
