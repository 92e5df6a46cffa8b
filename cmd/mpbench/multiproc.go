//go:build unix

package main

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/multiproc/multiproc"
)

// The benchmark's tasks, registered at package level so that the worker processes
// (re-executions of this binary) have them before multiproc.Main serves.
var (
	square = multiproc.Register("bench.square", func(_ context.Context, x int) (int, error) {
		return x * x, nil
	})
	workerPid = multiproc.Register("bench.pid", func(_ context.Context, _ int) (int, error) {
		return multiproc.Current().Pid, nil
	})
	identity = multiproc.Register("bench.identity", func(_ context.Context, b []byte) ([]byte, error) {
		return b, nil
	})
	burnTask = multiproc.Register("bench.burn", func(_ context.Context, n int64) (uint64, error) {
		return burn(n), nil
	})
)

const workers = 2

// metricTimeout bounds one metric, so that a hang shows as an error in the table
// instead of a benchmark that never ends.
const metricTimeout = 2 * time.Minute

// measureMultiproc fills res with multiproc's rows.
func measureMultiproc(sel selection, sz sizes, res *results) {
	run := func(id string, f func(ctx context.Context) (*Summary, error)) {
		if !sel.row(id) {
			return
		}
		progress("multiproc %s", id)
		ctx, cancel := context.WithTimeout(context.Background(), metricTimeout)
		defer cancel()
		s, err := f(ctx)
		if err != nil {
			s = failed(err)
			progress("multiproc %s: %v", id, err)
		}
		res.set(id, implMultiproc, s)
	}

	memIDs := []string{"rss", "uss", "uss_pss"}
	if sel.row("start") || slices.ContainsFunc(memIDs, sel.row) {
		progress("multiproc start, rss, uss, uss_pss")
		ctx, cancel := context.WithTimeout(context.Background(), metricTimeout)
		start, mem, err := measureStart(ctx, sz.reps, slices.ContainsFunc(memIDs, sel.row))
		cancel()
		if err != nil {
			progress("multiproc start: %v", err)
			start, mem = failed(err), failedMemory(err)
		}
		if sel.row("start") {
			res.set("start", implMultiproc, start)
		}
		for i, s := range []*Summary{mem.rss, mem.uss, mem.pss} {
			if sel.row(memIDs[i]) {
				res.set(memIDs[i], implMultiproc, s)
			}
		}
	}

	if slices.ContainsFunc(recycleIDs, sel.row) {
		progress("multiproc %s", strings.Join(recycleIDs, ", "))
		ctx, cancel := context.WithTimeout(context.Background(), metricTimeout)
		never, every, kept, err := measureRecycle(ctx, sz)
		cancel()
		if err != nil {
			progress("multiproc recycle: %v", err)
			never, every, kept = failed(err), failed(err), failed(err)
		}
		for i, s := range []*Summary{never, every, kept} {
			if sel.row(recycleIDs[i]) {
				res.set(recycleIDs[i], implMultiproc, s)
			}
		}
	}

	hot := []string{"apply", "map_chunk1", "map_auto", "imap_unordered_chunk1", "bytes", "cpu_speedup"}
	if !slices.ContainsFunc(hot, sel.row) {
		return
	}
	p, err := startPool()
	if err != nil {
		for _, id := range hot {
			if sel.row(id) {
				res.set(id, implMultiproc, failed(err))
			}
		}
		return
	}
	defer p.Terminate()

	inputs := make([]int, sz.tasks)
	for i := range inputs {
		inputs[i] = i
	}
	run("apply", func(ctx context.Context) (*Summary, error) { return measureApply(ctx, p, sz) })
	run("map_chunk1", func(ctx context.Context) (*Summary, error) {
		return throughput(sz, func(n int) error {
			return mapSquares(ctx, p, inputs[:n], multiproc.ChunkSize(1))
		})
	})
	run("map_auto", func(ctx context.Context) (*Summary, error) {
		return fullThroughput(sz, func(n int) error { return mapSquares(ctx, p, inputs[:n]) })
	})
	run("imap_unordered_chunk1", func(ctx context.Context) (*Summary, error) {
		return throughput(sz, func(n int) error { return unorderedSquares(ctx, p, n) })
	})
	run("bytes", func(ctx context.Context) (*Summary, error) { return measureBytes(ctx, p, sz) })
	run("cpu_speedup", func(ctx context.Context) (*Summary, error) { return measureSpeedup(ctx, p, sz) })
}

// startPool starts the pool the throughput metrics share and waits for its
// workers, so that no metric pays for the start.
func startPool() (*multiproc.Pool, error) {
	p, err := multiproc.NewPool(multiproc.Processes(workers))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), metricTimeout)
	defer cancel()
	if _, err := waitAllWorkers(ctx, p); err != nil {
		p.Terminate()
		return nil, err
	}
	return p, nil
}

// waitAllWorkers submits one pid task per worker, concurrently, until every worker
// has answered one: a pool counts as started when all of it can work.
func waitAllWorkers(ctx context.Context, p *multiproc.Pool) (map[int]bool, error) {
	seen := map[int]bool{}
	for len(seen) < p.Size() {
		futures := make([]*multiproc.Future[int], p.Size())
		for i := range futures {
			futures[i] = multiproc.Submit(ctx, p, workerPid, i)
		}
		for _, f := range futures {
			pid, err := f.Wait(ctx)
			if err != nil {
				return nil, err
			}
			seen[pid] = true
		}
	}
	return seen, nil
}

// measureStart creates a pool and waits until both workers answered (ms); with
// mem it also reads the workers' idle memory 0.1 s later (MiB).
func measureStart(ctx context.Context, reps int, mem bool) (start *Summary, memory memSummaries, err error) {
	var startMs []float64
	var mems []memSample
	for i := range reps + 1 { // the first is a warm-up, as in pools.py
		t0 := time.Now()
		p, err := multiproc.NewPool(multiproc.Processes(workers))
		if err != nil {
			return nil, memory, err
		}
		pids, err := waitAllWorkers(ctx, p)
		elapsed := time.Since(t0)
		var m memSample
		if err == nil && mem {
			time.Sleep(100 * time.Millisecond)
			m, err = meanMemory(slices.Collect(maps.Keys(pids)))
		}
		err = errors.Join(err, p.Close())
		if err != nil {
			return nil, memory, err
		}
		if i > 0 {
			startMs = append(startMs, elapsed.Seconds()*1e3)
			mems = append(mems, m)
		}
	}
	if mem {
		memory = summarizeMemory(mems, "mean of the 2 workers, 0.1 s after their first task")
	}
	return summarize(startMs), memory, nil
}

func measureApply(ctx context.Context, p *multiproc.Pool, sz sizes) (*Summary, error) {
	if err := settle(sz, func() error { _, err := multiproc.Apply(ctx, p, square, 1); return err }); err != nil {
		return nil, err
	}
	return perCall(sz.reps, sz.applyCalls, func(n int) error {
		for i := range n {
			out, err := multiproc.Apply(ctx, p, square, i)
			if err != nil {
				return err
			}
			if out != i*i {
				return fmt.Errorf("square(%d) = %d", i, out)
			}
		}
		return nil
	})
}

func mapSquares(ctx context.Context, p *multiproc.Pool, in []int, opts ...multiproc.MapOption) error {
	out, err := multiproc.Map(ctx, p, square, in, opts...)
	if err != nil {
		return err
	}
	if n := len(in); len(out) != n || (n > 0 && out[n-1] != in[n-1]*in[n-1]) {
		return fmt.Errorf("Map returned %d wrong results", len(out))
	}
	return nil
}

func unorderedSquares(ctx context.Context, p *multiproc.Pool, n int) error {
	count := 0
	for r := range multiproc.ImapUnordered(ctx, p, square, ints(n), multiproc.ChunkSize(1)) {
		if r.Err != nil {
			return r.Err
		}
		count++
	}
	if count != n {
		return fmt.Errorf("ImapUnordered yielded %d of %d results", count, n)
	}
	return nil
}

func ints(n int) iter.Seq[int] {
	return func(yield func(int) bool) {
		for i := range n {
			if !yield(i) {
				return
			}
		}
	}
}

// throughput measures tasks/s of run(n). A warm-up of 1000 tasks estimates the rate
// so that a slow implementation does fewer tasks per rep, as pools.py does.
func throughput(sz sizes, run func(n int) error) (*Summary, error) {
	warm := min(1000, sz.tasks)
	d, err := timeIt(func() error { return run(warm) })
	if err != nil {
		return nil, err
	}
	n := shrink(sz.tasks, warm, float64(warm)/d.Seconds(), sz.repBudget)
	if err := settle(sz, func() error { return run(n) }); err != nil {
		return nil, err
	}
	return ratePerRep(sz.reps, n, run)
}

// settle runs the workload, untimed, for sz.settle (as pools.py does): the timed reps
// measure the steady state, not the first calls after a start, which find cold caches
// and a heap still growing into memory the machine has not handed out yet (on the
// project's VM, a first touch of such a page costs about 12 µs).
func settle(sz sizes, run func() error) error { return settleFor(sz.settle, run) }

// settleFor runs the workload, untimed, for d.
func settleFor(d time.Duration, run func() error) error {
	t0 := time.Now()
	for time.Since(t0) < d {
		if err := run(); err != nil {
			return err
		}
	}
	return nil
}

// fullThroughput is throughput with the full task count: the automatic chunk size
// depends on it. Only a pathologically slow warm-up shrinks it.
func fullThroughput(sz sizes, run func(n int) error) (*Summary, error) {
	d, err := timeIt(func() error { return run(sz.tasks) })
	if err != nil {
		return nil, err
	}
	rate := float64(sz.tasks) / d.Seconds()
	n := shrink(sz.tasks, 1000, rate, 3*sz.repBudget)
	if err := settle(sz, func() error { return run(n) }); err != nil {
		return nil, err
	}
	return ratePerRep(sz.reps, n, run)
}

func ratePerRep(reps, n int, run func(n int) error) (*Summary, error) {
	var samples []float64
	for range reps {
		d, err := timeIt(func() error { return run(n) })
		if err != nil {
			return nil, err
		}
		samples = append(samples, float64(n)/d.Seconds())
	}
	s := summarize(samples)
	s.Tasks = n
	return s, nil
}

// measureBytes maps identity over 8 MiB slices, one slice per task, and counts the
// bytes both ways (GB/s). Every slice is its own allocation.
func measureBytes(ctx context.Context, p *multiproc.Pool, sz sizes) (*Summary, error) {
	blobs := make([][]byte, sz.blobs)
	for i := range blobs {
		blobs[i] = make([]byte, sz.blobSize)
		for j := range blobs[i] {
			blobs[i][j] = byte(i % 251)
		}
	}
	run := func(n int) error {
		out, err := multiproc.Map(ctx, p, identity, blobs[:n], multiproc.ChunkSize(1))
		if err != nil {
			return err
		}
		if len(out) != n || len(out[n-1]) != sz.blobSize || out[n-1][0] != blobs[n-1][0] {
			return errors.New("identity Map returned the wrong bytes")
		}
		return nil
	}
	warm := min(2, sz.blobs)
	d, err := timeIt(func() error { return run(warm) })
	if err != nil {
		return nil, err
	}
	n := shrink(sz.blobs, 8, float64(warm)/d.Seconds(), sz.repBudget)
	if err := settleFor(sz.bytesSettle, func() error { return run(n) }); err != nil {
		return nil, err
	}
	var samples []float64
	for range sz.reps {
		d, err := timeIt(func() error { return run(n) })
		if err != nil {
			return nil, err
		}
		samples = append(samples, 2*float64(n*sz.blobSize)/d.Seconds()/1e9)
	}
	s := summarize(samples)
	s.Tasks = n
	s.Note = fmt.Sprintf("chunk size 1: one item per task; %v untimed first, in both languages, for the heap holding the results to reach its steady size", sz.bytesSettle)
	return s, nil
}

// measureSpeedup runs cpuTasks busy tasks serially in this process and then on the
// pool, in every rep, and reports serial time / pool time.
func measureSpeedup(ctx context.Context, p *multiproc.Pool, sz sizes) (*Summary, error) {
	iters := calibrateBurn(sz.cpuTask)
	work := make([]int64, sz.cpuTasks)
	for i := range work {
		work[i] = iters
	}
	if _, err := multiproc.Map(ctx, p, burnTask, work[:workers], multiproc.ChunkSize(1)); err != nil {
		return nil, err
	}
	var samples []float64
	var serialMs []float64
	for range sz.reps {
		t0 := time.Now()
		for _, n := range work {
			sinkU64 += burn(n)
		}
		serial := time.Since(t0)
		d, err := timeIt(func() error {
			_, err := multiproc.Map(ctx, p, burnTask, work, multiproc.ChunkSize(1))
			return err
		})
		if err != nil {
			return nil, err
		}
		serialMs = append(serialMs, serial.Seconds()*1e3)
		samples = append(samples, serial.Seconds()/d.Seconds())
	}
	s := summarize(samples)
	s.Tasks = len(work)
	s.Note = fmt.Sprintf("serial %.0f ms per rep", summarize(serialMs).Median)
	return s, nil
}

// sinkU64 keeps the serial busy loop's result alive.
var sinkU64 uint64

// burn is a deterministic busy loop: the same n is the same work in every process.
func burn(n int64) uint64 {
	x := uint64(1)
	for i := int64(0); i < n; i++ {
		x = x*6364136223846793005 + uint64(i)
		x ^= x >> 29
	}
	return x
}

// calibrateBurn finds the iterations of burn that take about d here. It keeps the
// fastest of several trials, so a moment of interference does not shorten the tasks.
func calibrateBurn(d time.Duration) int64 {
	n := int64(1 << 16)
	for {
		t0 := time.Now()
		sinkU64 += burn(n)
		if time.Since(t0) > 20*time.Millisecond {
			break
		}
		n *= 2
	}
	best := time.Duration(1<<63 - 1)
	for range 5 {
		t0 := time.Now()
		sinkU64 += burn(n)
		best = min(best, time.Since(t0))
	}
	return max(1, int64(float64(n)*d.Seconds()/best.Seconds()))
}
