//go:build unix

package main

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/multiproc/multiproc"
)

// The recycle rows: what replacing workers costs a Map of short CPU-bound tasks.
// A worker retired after recycleEvery tasks is replaced by a fresh process, and a
// pool that starts the replacement late leaves a core idle meanwhile.
const recycleEvery = 25

// recycleIDs are the recycle rows in table order: tasks/s without recycling,
// tasks/s with it, and their ratio.
var recycleIDs = []string{"recycle_never", "recycle_every25", "recycle_kept"}

// measureRecycle maps sz.recycleTasks busy tasks of sz.recycleTask each, with the
// automatic chunk size, on a pool that never recycles and on one with
// MaxTasksPerWorker(recycleEvery). Every rep runs both, so that the ratio of a
// rep compares two runs that saw the same machine.
func measureRecycle(ctx context.Context, sz sizes) (never, every, kept *Summary, err error) {
	iters := calibrateBurn(sz.recycleTask)
	plain, err := startPool()
	if err != nil {
		return nil, nil, nil, err
	}
	defer plain.Terminate()
	recycled, err := multiproc.NewPool(multiproc.Processes(workers), multiproc.MaxTasksPerWorker(recycleEvery))
	if err != nil {
		return nil, nil, nil, err
	}
	defer recycled.Terminate()
	if _, err := waitAllWorkers(ctx, recycled); err != nil {
		return nil, nil, nil, err
	}

	work := slices.Repeat([]int64{iters}, sz.recycleTasks)
	run := func(p *multiproc.Pool, n int) (time.Duration, error) {
		return timeIt(func() error {
			out, err := multiproc.Map(ctx, p, burnTask, work[:n])
			if err == nil && len(out) != n {
				err = fmt.Errorf("Map returned %d of %d results", len(out), n)
			}
			return err
		})
	}
	// A warm-up of each, the floor's worth of tasks, also tells how fast the
	// recycling pool goes, so that a slow one does fewer tasks per rep.
	floor := min(sz.recycleFloor, sz.recycleTasks)
	if _, err := run(plain, floor); err != nil {
		return nil, nil, nil, err
	}
	d, err := run(recycled, floor)
	if err != nil {
		return nil, nil, nil, err
	}
	n := shrink(sz.recycleTasks, floor, float64(floor)/d.Seconds(), sz.recycleBudget)

	var rateNever, rateEvery, ratios []float64
	for rep := range sz.reps {
		pools := []*multiproc.Pool{plain, recycled}
		if rep%2 == 1 {
			// Alternate which goes first: the recycling pool may still be starting
			// its last replacement when the other run begins.
			pools = []*multiproc.Pool{recycled, plain}
		}
		rates := map[*multiproc.Pool]float64{}
		for _, p := range pools {
			d, err := run(p, n)
			if err != nil {
				return nil, nil, nil, err
			}
			rates[p] = float64(n) / d.Seconds()
		}
		rateNever = append(rateNever, rates[plain])
		rateEvery = append(rateEvery, rates[recycled])
		ratios = append(ratios, rates[recycled]/rates[plain])
	}
	never, every, kept = summarize(rateNever), summarize(rateEvery), summarize(ratios)
	for _, s := range []*Summary{never, every, kept} {
		s.Tasks = n
	}
	never.Note = "automatic chunk size"
	every.Note = fmt.Sprintf("MaxTasksPerWorker(%d), automatic chunk size", recycleEvery)
	kept.Note = "each rep runs both pools; the ratio is of the same rep"
	return never, every, kept, nil
}
