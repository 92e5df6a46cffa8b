//go:build unix

package main

import (
	"context"
	"path/filepath"
	"slices"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/sharebench"
)

// The sharing rows: the objects shared between 2 processes (the parent and one worker),
// against Python's multiprocessing objects, measured by bench/python/sharing.py in the Pool
// column. Their ids start with "share_".
var sharingRows = []metric{
	{"share_array_read", "SharedArray: a child's pass over 64 MiB", "GB/s", false, "limit.memcpy"},
	{"share_value_add", "Value.Add from 2 processes (Python: with its lock)", "M/s", false, ""},
	{"share_lock", "Lock+Unlock, 2 processes contending", "M pairs/s", false, ""},
	{"share_event_wake", "Event.Set → a waiter in another process wakes", "µs", true, ""},
}

func init() { rows = append(rows, sharingRows...) }

// sharingSizes are the sizes of the sharing rows: per rep, pairs of Adds or Lock+Unlock in
// each process, bytes read, Event wake-ups.
func sharingSizes(sz sizes) (ops, arrayBytes, wakes int) {
	if sz.tasks < 100_000 { // -quick
		return 20_000, 8 * mib, 5
	}
	return 2_000_000, 64 * mib, 20
}

// measureSharing fills the multiproc column of the sharing rows.
func measureSharing(sel selection, sz sizes, res *results) {
	if !slices.ContainsFunc(sharingRows, func(m metric) bool { return sel.row(m.id) }) {
		return
	}
	ops, arrayBytes, wakes := sharingSizes(sz)
	progress("multiproc sharing")
	ctx, cancel := context.WithTimeout(context.Background(), metricTimeout)
	defer cancel()
	p, err := multiproc.NewPool(multiproc.Processes(1))
	if err != nil {
		for _, m := range sharingRows {
			res.set(m.id, implMultiproc, failed(err))
		}
		return
	}
	defer p.Close()
	run := func(id string, rep func() (float64, error)) {
		if !sel.row(id) {
			return
		}
		progress("multiproc %s", id)
		var samples []float64
		for range sz.reps {
			x, err := rep()
			if err != nil {
				res.set(id, implMultiproc, failed(err))
				return
			}
			samples = append(samples, x)
		}
		res.set(id, implMultiproc, summarize(samples))
	}

	arr, err := multiproc.NewSharedArray[uint64](arrayBytes / 8)
	if err == nil {
		defer arr.Close()
		for i := range arr.Slice() {
			arr.Slice()[i] = uint64(i)
		}
	}
	run("share_array_read", func() (float64, error) {
		if err != nil {
			return 0, err
		}
		d, err := sharebench.ArrayRead(ctx, p, arr)
		return float64(arrayBytes) / d.Seconds() / 1e9, err
	})
	run("share_value_add", func() (float64, error) {
		rate, err := sharebench.ValueAdd(ctx, p, ops)
		return rate / 1e6, err
	})
	run("share_lock", func() (float64, error) {
		rate, err := sharebench.LockPairs(ctx, p, ops)
		return rate / 1e6, err
	})
	run("share_event_wake", func() (float64, error) {
		e, err := multiproc.NewEvent()
		if err != nil {
			return 0, err
		}
		var lat []float64
		for range wakes {
			d, err := sharebench.EventWake(ctx, p, e)
			if err != nil {
				return 0, err
			}
			lat = append(lat, float64(d.Microseconds()))
		}
		return summarize(lat).Median, nil
	})
}

// measureSharingPython fills the Pool column of the sharing rows from
// bench/python/sharing.py, which sits beside pools.py.
func measureSharingPython(interpreter, poolsPy string, sel selection, sz sizes, quick bool, res *results) error {
	if !slices.ContainsFunc(sharingRows, func(m metric) bool { return sel.row(m.id) }) {
		return nil
	}
	if poolsPy == "" {
		var err error
		if poolsPy, err = findPoolsPy(); err != nil {
			return err
		}
	}
	_, err := measurePython(interpreter, filepath.Join(filepath.Dir(poolsPy), "sharing.py"), sel, sz, quick, res)
	return err
}
