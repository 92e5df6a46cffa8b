//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/multiproc/multiproc"
)

// The Queue and Pipe rows: items between processes, against multiprocessing.Queue and
// Pipe (bench/python/queues.py, in the pool column: multiprocessing's). multiproc's
// side runs its producers and consumers as tasks of a pool of 4 workers.
var queueRows = []metric{
	{"queue_1to1", "Queue, ints, 1 producer → 1 consumer", "items/s", false, ""},
	{"queue_roundtrip", "Queue round trip, answered on a 2nd queue", "µs", true, "limit.pingpong_ring"},
	{"queue_2x2", "Queue, ints, 2 producers + 2 consumers", "items/s", false, ""},
	{"pipe_1way", "Pipe, ints, one way", "items/s", false, ""},
	{"queue_bytes", "Queue, 8 MiB []byte items", "GB/s", false, "limit.memcpy"},
	{"pipe_bytes", "Pipe, 8 MiB []byte items", "GB/s", false, "limit.memcpy"},
}

func init() { rows = append(rows, queueRows...) }

// queueCapacity is the capacity of the queues measured: as Python's are unbounded, room
// enough that a producer seldom waits.
const queueCapacity = 1 << 14

type (
	benchQueueJob struct {
		Q     *multiproc.Queue[int]
		Count int
	}
	benchEchoJob struct{ In, Out *multiproc.Queue[int] }
	benchPipeJob struct {
		C     *multiproc.Conn[int]
		Count int
	}
	benchBlobsJob struct {
		Q     *multiproc.Queue[[]byte]
		C     *multiproc.Conn[[]byte]
		Size  int
		Count int
	}
)

var (
	queueProduce = multiproc.Register("bench.queueProduce", func(ctx context.Context, j benchQueueJob) (int, error) {
		for i := range j.Count {
			if err := j.Q.Put(ctx, i); err != nil {
				return i, err
			}
		}
		return j.Count, nil
	})
	queueCount = multiproc.Register("bench.queueCount", func(ctx context.Context, q *multiproc.Queue[int]) (int, error) {
		n := 0
		for _, err := range q.All(ctx) {
			if err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	})
	queueEcho = multiproc.Register("bench.queueEcho", func(ctx context.Context, j benchEchoJob) (int, error) {
		n := 0
		for v, err := range j.In.All(ctx) {
			if err != nil {
				return n, err
			}
			if err := j.Out.Put(ctx, v); err != nil {
				return n, err
			}
			n++
		}
		return n, nil
	})
	pipeSend = multiproc.Register("bench.pipeSend", func(ctx context.Context, j benchPipeJob) (int, error) {
		defer j.C.Close()
		for i := range j.Count {
			if err := j.C.Send(ctx, i); err != nil {
				return i, err
			}
		}
		return j.Count, nil
	})
	sendBlobs = multiproc.Register("bench.sendBlobs", func(ctx context.Context, j benchBlobsJob) (int, error) {
		b := make([]byte, j.Size)
		for i := range b {
			b[i] = byte(i)
		}
		for i := range j.Count {
			var err error
			if j.Q != nil {
				err = j.Q.Put(ctx, b)
			} else {
				err = j.C.Send(ctx, b)
			}
			if err != nil {
				return i, err
			}
		}
		return j.Count, nil
	})
)

// measureQueues fills res with multiproc's Queue and Pipe rows.
func measureQueues(sel selection, sz sizes, res *results) {
	var ids []string
	for _, m := range queueRows {
		if sel.row(m.id) {
			ids = append(ids, m.id)
		}
	}
	if len(ids) == 0 {
		return
	}
	progress("multiproc %s", strings.Join(ids, ", "))
	p, err := multiproc.NewPool(multiproc.Processes(4))
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), metricTimeout)
		_, err = waitAllWorkers(ctx, p)
		cancel()
		defer p.Terminate()
	}
	for _, id := range ids {
		if err != nil {
			res.set(id, implMultiproc, failed(err))
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), metricTimeout)
		s, merr := measureQueueRow(ctx, p, id, sz)
		cancel()
		if merr != nil {
			progress("multiproc %s: %v", id, merr)
			s = failed(merr)
		}
		res.set(id, implMultiproc, s)
	}
}

func measureQueueRow(ctx context.Context, p *multiproc.Pool, id string, sz sizes) (*Summary, error) {
	switch id {
	case "queue_1to1":
		return queueRate(sz, func(n int) error { return oneToOne(ctx, p, n) })
	case "queue_2x2":
		return queueRate(sz, func(n int) error { return twoByTwo(ctx, p, n) })
	case "pipe_1way":
		return queueRate(sz, func(n int) error { return pipeOneWay(ctx, p, n) })
	case "queue_roundtrip":
		return queueRoundTrip(ctx, p, sz)
	case "queue_bytes", "pipe_bytes":
		return queueBlobs(ctx, p, sz, id == "pipe_bytes")
	}
	return nil, fmt.Errorf("no measurement for %s", id)
}

// queueRate runs sz.tasks items a rep (items/s), after a settling run.
func queueRate(sz sizes, run func(n int) error) (*Summary, error) {
	n := sz.tasks * 3
	if err := settle(sz, func() error { return run(n / 10) }); err != nil {
		return nil, err
	}
	return ratePerRep(sz.reps, n, run)
}

func oneToOne(ctx context.Context, p *multiproc.Pool, n int) error {
	q, err := multiproc.NewQueue[int](queueCapacity)
	if err != nil {
		return err
	}
	f := multiproc.Submit(ctx, p, queueProduce, benchQueueJob{Q: q, Count: n})
	for range n {
		if _, err := q.Get(ctx); err != nil {
			return err
		}
	}
	_, err = f.Wait(ctx)
	return err
}

// twoByTwo runs each of the four in a process of its own: on a pool, two could share a worker,
// and a consumer, which returns only once the queue is closed, would keep a producer from
// running.
func twoByTwo(ctx context.Context, _ *multiproc.Pool, n int) error {
	q, err := multiproc.NewQueue[int](queueCapacity)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends any process left by a failure
	var consumers, producers []*multiproc.Process[int]
	for range 2 {
		c, err := multiproc.Start(ctx, queueCount, q)
		if err != nil {
			return err
		}
		consumers = append(consumers, c)
	}
	for _, count := range []int{n / 2, n - n/2} {
		p, err := multiproc.Start(ctx, queueProduce, benchQueueJob{Q: q, Count: count})
		if err != nil {
			return err
		}
		producers = append(producers, p)
	}
	for _, p := range producers {
		if _, err := p.Wait(ctx); err != nil {
			return err
		}
	}
	q.Close()
	got := 0
	for _, c := range consumers {
		k, err := c.Wait(ctx)
		if err != nil {
			return err
		}
		got += k
	}
	if got != n {
		return fmt.Errorf("%d items taken of %d", got, n)
	}
	return nil
}

func pipeOneWay(ctx context.Context, p *multiproc.Pool, n int) error {
	mine, theirs, err := multiproc.NewPipe[int]()
	if err != nil {
		return err
	}
	f := multiproc.Submit(ctx, p, pipeSend, benchPipeJob{C: theirs, Count: n})
	for range n {
		if _, err := mine.Recv(ctx); err != nil {
			return err
		}
	}
	_, err = f.Wait(ctx)
	return err
}

// queueRoundTrip puts a number on one queue, which a worker answers on another (µs).
func queueRoundTrip(ctx context.Context, p *multiproc.Pool, sz sizes) (*Summary, error) {
	in, err := multiproc.NewQueue[int](16)
	if err != nil {
		return nil, err
	}
	out, err := multiproc.NewQueue[int](16)
	if err != nil {
		return nil, err
	}
	f := multiproc.Submit(ctx, p, queueEcho, benchEchoJob{In: in, Out: out})
	defer f.Wait(ctx)
	defer in.Close()
	trip := func(n int) error {
		for i := range n {
			if err := in.Put(ctx, i); err != nil {
				return err
			}
			if v, err := out.Get(ctx); err != nil || v != i {
				return fmt.Errorf("round trip %d: %d, %v", i, v, err)
			}
		}
		return nil
	}
	if err := settle(sz, func() error { return trip(100) }); err != nil {
		return nil, err
	}
	return perCall(sz.reps, sz.pingPongs*4, trip)
}

// queueBlobs takes sz.blobs items of sz.blobSize bytes a rep from a worker (GB/s).
func queueBlobs(ctx context.Context, p *multiproc.Pool, sz sizes, viaPipe bool) (*Summary, error) {
	run := func(n int) error {
		job := benchBlobsJob{Size: sz.blobSize, Count: n}
		var recv func() ([]byte, error)
		if viaPipe {
			mine, theirs, err := multiproc.NewPipe[[]byte]()
			if err != nil {
				return err
			}
			job.C, recv = theirs, func() ([]byte, error) { return mine.Recv(ctx) }
		} else {
			q, err := multiproc.NewQueue[[]byte](4)
			if err != nil {
				return err
			}
			job.Q, recv = q, func() ([]byte, error) { return q.Get(ctx) }
		}
		f := multiproc.Submit(ctx, p, sendBlobs, job)
		for range n {
			b, err := recv()
			if err != nil {
				return err
			}
			if len(b) != sz.blobSize {
				return fmt.Errorf("an item of %d bytes", len(b))
			}
		}
		_, err := f.Wait(ctx)
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return err
	}
	if err := settleFor(sz.bytesSettle, func() error { return run(sz.blobs / 4) }); err != nil {
		return nil, err
	}
	var samples []float64
	for range sz.reps {
		d, err := timeIt(func() error { return run(sz.blobs) })
		if err != nil {
			return nil, err
		}
		samples = append(samples, float64(sz.blobs*sz.blobSize)/d.Seconds()/1e9)
	}
	s := summarize(samples)
	s.Tasks = sz.blobs
	return s, nil
}

// measureQueuesPython runs bench/python/queues.py, beside pools.py, for the Queue and Pipe
// rows selected.
func measureQueuesPython(interpreter, poolsPy string, sel selection, sz sizes, quick bool, res *results) {
	if interpreter == "" || !slices.ContainsFunc(queueRows, func(m metric) bool { return sel.row(m.id) }) {
		return
	}
	if poolsPy == "" {
		var err error
		if poolsPy, err = findPoolsPy(); err != nil {
			progress("queues.py: %v", err)
			return
		}
	}
	script := filepath.Join(filepath.Dir(poolsPy), "queues.py")
	if _, err := measurePython(interpreter, script, sel, sz, quick, res); err != nil {
		progress("queues.py: %v", err)
	}
}
