//go:build unix

package main

import (
	"context"
	"path/filepath"
	"slices"
	"time"

	"github.com/multiproc/multiproc"
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

type shareArg struct {
	V *multiproc.Value[int64]
	L *multiproc.Lock
	N int
}

var (
	shareAdd = multiproc.Register("bench.share.add", func(_ context.Context, a shareArg) (struct{}, error) {
		for range a.N {
			a.V.Add(1)
		}
		return struct{}{}, nil
	})
	shareLock = multiproc.Register("bench.share.lock", func(ctx context.Context, a shareArg) (struct{}, error) {
		for range a.N {
			if err := a.L.Lock(ctx); err != nil {
				return struct{}{}, err
			}
			a.L.Unlock()
		}
		return struct{}{}, nil
	})
	// shareRead sums the array (every byte read once) and returns how long it took.
	shareRead = multiproc.Register("bench.share.read", func(_ context.Context, a *multiproc.SharedArray[uint64]) (time.Duration, error) {
		start := time.Now()
		var s0, s1, s2, s3 uint64
		xs := a.Slice()
		for i := 0; i+4 <= len(xs); i += 4 {
			s0 += xs[i]
			s1 += xs[i+1]
			s2 += xs[i+2]
			s3 += xs[i+3]
		}
		d := time.Since(start)
		if s0+s1+s2+s3 == 1 {
			d++ // the sum is used
		}
		return d, nil
	})
	shareWait = multiproc.Register("bench.share.wait", func(ctx context.Context, e *multiproc.Event) (int64, error) {
		err := e.Wait(ctx)
		return time.Now().UnixNano(), err
	})
)

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
		d, err := multiproc.Apply(ctx, p, shareRead, arr)
		return float64(arrayBytes) / d.Seconds() / 1e9, err
	})
	both := func(f *multiproc.Func[shareArg, struct{}], a shareArg, here func()) (float64, error) {
		if _, err := multiproc.Apply(ctx, p, f, shareArg{V: a.V, L: a.L, N: 1}); err != nil { // the worker has the handle
			return 0, err
		}
		start := time.Now()
		fut := multiproc.Submit(ctx, p, f, a)
		for range a.N {
			here()
		}
		if _, err := fut.Wait(ctx); err != nil {
			return 0, err
		}
		return float64(2*a.N) / time.Since(start).Seconds() / 1e6, nil
	}
	run("share_value_add", func() (float64, error) {
		v, err := multiproc.NewValue[int64](0)
		if err != nil {
			return 0, err
		}
		return both(shareAdd, shareArg{V: v, N: ops}, func() { v.Add(1) })
	})
	run("share_lock", func() (float64, error) {
		l, err := multiproc.NewLock()
		if err != nil {
			return 0, err
		}
		return both(shareLock, shareArg{L: l, N: ops}, func() { l.Lock(ctx); l.Unlock() })
	})
	run("share_event_wake", func() (float64, error) {
		e, err := multiproc.NewEvent()
		if err != nil {
			return 0, err
		}
		var lat []float64
		for range wakes {
			e.Clear()
			fut := multiproc.Submit(ctx, p, shareWait, e)
			time.Sleep(2 * time.Millisecond) // the worker is asleep in Wait
			set := time.Now()
			e.Set()
			woke, err := fut.Wait(ctx)
			if err != nil {
				return 0, err
			}
			lat = append(lat, float64(time.Unix(0, woke).Sub(set).Microseconds()))
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
