//go:build unix

package main

import (
	"context"
	"errors"
	"runtime/debug"

	"github.com/multiproc/multiproc"
)

// A cold workload is run once per fresh pool, and that first call is timed: what a user's
// program sees, where the settled rows measure the steady state after seconds of the same
// work. Its id is a row of metrics.go and a key of bench/python/pools.py, which runs the
// same workloads the same way. A new workload is a new entry in coldWorkloads.
type coldWorkload struct {
	id string
	// prepare makes the inputs, before any pool exists, and returns the call to time and
	// what one call moves (tasks, or bytes both ways) for the rate.
	prepare func(sz sizes) (call func(ctx context.Context, p *multiproc.Pool) error, amount float64)
	// scale turns amount per second into the row's unit.
	scale float64
	note  string
}

// coldTasks is how many trivial ints the cold automatic-chunk Map gets: ten times the
// settled row's, as a user's batch would be.
func coldTasks(sz sizes) int { return 10 * sz.tasks }

var coldWorkloads = []coldWorkload{
	{
		id: "map_auto_cold",
		prepare: func(sz sizes) (func(context.Context, *multiproc.Pool) error, float64) {
			inputs := make([]int, coldTasks(sz))
			for i := range inputs {
				inputs[i] = i
			}
			return func(ctx context.Context, p *multiproc.Pool) error {
				return mapSquares(ctx, p, inputs)
			}, float64(len(inputs))
		},
		scale: 1,
		note:  "the first Map of a fresh pool (its workers answered first), once per rep",
	},
	{
		id: "bytes_cold",
		prepare: func(sz sizes) (func(context.Context, *multiproc.Pool) error, float64) {
			blobs := make([][]byte, sz.blobs)
			for i := range blobs {
				blobs[i] = make([]byte, sz.blobSize)
				for j := range blobs[i] {
					blobs[i][j] = byte(i % 251)
				}
			}
			return func(ctx context.Context, p *multiproc.Pool) error {
				out, err := multiproc.Map(ctx, p, identity, blobs, multiproc.ChunkSize(1))
				if err != nil {
					return err
				}
				if len(out) != len(blobs) || out[len(out)-1][0] != blobs[len(blobs)-1][0] {
					return errors.New("identity Map returned the wrong bytes")
				}
				return nil
			}, 2 * float64(sz.blobs*sz.blobSize)
		},
		scale: 1e-9,
		note:  "the first Map of a fresh pool (its workers answered first), once per rep; chunk size 1",
	},
}

// measureCold fills res with the cold rows.
func measureCold(sel selection, sz sizes, res *results) {
	for _, w := range coldWorkloads {
		if !sel.row(w.id) {
			continue
		}
		progress("multiproc %s", w.id)
		s, err := runCold(w, sz)
		if err != nil {
			s = failed(err)
			progress("multiproc %s: %v", w.id, err)
		}
		res.set(w.id, implMultiproc, s)
	}
}

func runCold(w coldWorkload, sz sizes) (*Summary, error) {
	ctx, cancel := context.WithTimeout(context.Background(), metricTimeout)
	defer cancel()
	call, amount := w.prepare(sz)
	var samples []float64
	for range sz.reps {
		// What the last rep's results took goes back to the system, as in a program that
		// has not run yet: its first call's results land on memory it has not used.
		debug.FreeOSMemory()
		p, err := startPool()
		if err != nil {
			return nil, err
		}
		d, err := timeIt(func() error { return call(ctx, p) })
		p.Close()
		if err != nil {
			return nil, err
		}
		samples = append(samples, amount/d.Seconds()*w.scale)
	}
	s := summarize(samples)
	s.Note = w.note
	return s, nil
}
