package multiproc

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/multiproc/multiproc/internal/wire"
)

// Map applies f to every input on the workers of p and returns the outputs in input order
// (Python's Pool.map). The first failure cancels the rest and is returned as *TaskError
// carrying the input's index. Cancelling ctx stops the tasks, and Map returns ctx.Err() at
// once.
//
// Inputs travel in chunks of about len(inputs)/(4·workers) (see ChunkSize): each chunk costs
// one message each way, and its items run one after another in one worker.
func Map[In, Out any](ctx context.Context, p *Pool, f *Func[In, Out], inputs []In, opts ...MapOption) ([]Out, error) {
	mc, err := newMapConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := checkCall(p, f); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := &mapWork[In, Out]{f: f, ins: inputs, outs: make([]Out, len(inputs)), done: make(chan struct{})}
	w.left.Store(int64(len(inputs)))
	job, err := p.backend.newJob(ctx, w)
	if err != nil {
		return nil, err
	}
	defer job.Release()
	if len(inputs) == 0 {
		return w.outs, nil
	}
	bar := newBar(mc.progress, len(inputs))
	w.bar = bar
	defer bar.Finish()
	chunk := mc.chunkSize
	if chunk == 0 {
		chunk = autoChunk(len(inputs), p.size)
	}
	for lo := 0; lo < len(inputs); lo += chunk {
		job.Submit(lo, min(lo+chunk, len(inputs)))
	}
	select {
	case <-w.done:
	case <-ctx.Done():
	}
	if err := ctx.Err(); err != nil { // even if done: its failures may be the cancellation's
		job.Cancel(err)
		return nil, err
	}
	if w.err != nil {
		job.Cancel(context.Canceled)
		return nil, w.err
	}
	return w.outs, nil
}

// autoChunk is Python's default: about four chunks per worker.
func autoChunk(n, workers int) int {
	chunk := n / (4 * workers)
	if n%(4*workers) != 0 {
		chunk++
	}
	return max(chunk, 1)
}

// mapWork is the work of one Map call.
type mapWork[In, Out any] struct {
	f    *Func[In, Out]
	ins  []In
	outs []Out
	bar  *bar

	left atomic.Int64
	once sync.Once
	err  error // the first failure, as *TaskError
	done chan struct{}
}

func (w *mapWork[In, Out]) Func() string { return w.f.name }

func (w *mapWork[In, Out]) EncodeInputs(enc *wire.Encoder, lo, hi int) error {
	return w.f.in.Encode(enc, w.ins[lo:hi])
}

func (w *mapWork[In, Out]) DecodeOutputs(dec *wire.Decoder, lo, hi int) error {
	return w.f.out.Decode(dec, w.outs[lo:hi])
}

func (w *mapWork[In, Out]) Finish(lo, hi int, err error) {
	if err != nil {
		w.once.Do(func() {
			w.err = &TaskError{Index: lo, Err: err}
			close(w.done)
		})
		return
	}
	w.bar.Add(hi - lo)
	if w.left.Add(int64(lo-hi)) == 0 {
		w.once.Do(func() { close(w.done) })
	}
}
