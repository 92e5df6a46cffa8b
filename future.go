package multiproc

import (
	"context"
	"errors"

	"github.com/multiproc/multiproc/internal/wire"
)

// Future is the result of a task given to Submit (Python's AsyncResult).
type Future[Out any] struct {
	job  job
	done chan struct{}
	out  Out
	err  error
}

// Apply runs f(in) on a worker of p and returns its result (Python's apply). Cancelling ctx
// stops the task, and Apply returns ctx.Err() at once.
func Apply[In, Out any](ctx context.Context, p *Pool, f *Func[In, Out], in In) (Out, error) {
	fut := submit(ctx, p, f, in, true)
	if fut.job != nil {
		// The calling goroutine reads the result itself when it comes soon: it is not woken by
		// another, which on a VM costs more than the rest of the round trip.
		fut.job.Await(fut.done, ctx.Done())
	}
	select {
	case <-fut.done:
		return fut.out, fut.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

// Submit starts f(in) on a worker of p and returns at once (Python's apply_async). ctx governs
// the task: cancelling it stops the task.
func Submit[In, Out any](ctx context.Context, p *Pool, f *Func[In, Out], in In) *Future[Out] {
	return submit(ctx, p, f, in, false)
}

// submit is Submit; with await, the caller is about to wait for the result (Apply).
func submit[In, Out any](ctx context.Context, p *Pool, f *Func[In, Out], in In, await bool) *Future[Out] {
	fut := &Future[Out]{done: make(chan struct{})}
	if err := checkCall(p, f); err != nil {
		fut.err = err
		close(fut.done)
		return fut
	}
	w := &oneWork[In, Out]{f: f, in: in, fut: fut}
	job, err := p.backend.newJob(ctx, w)
	if err != nil {
		fut.err = err
		close(fut.done)
		return fut
	}
	fut.job = job
	if await {
		job.Expect()
	}
	job.Submit(0, 1)
	return fut
}

// checkCall validates the pool and function of a call.
func checkCall[In, Out any](p *Pool, f *Func[In, Out]) error {
	if p == nil {
		return errors.New("multiproc: nil *Pool")
	}
	return f.usable()
}

// Wait waits for the task and returns its result. ctx bounds only the waiting (like
// AsyncResult.get(timeout)): when it ends first, Wait returns ctx.Err() and the task goes on.
func (f *Future[Out]) Wait(ctx context.Context) (Out, error) {
	select {
	case <-f.done:
		return f.out, f.err
	case <-ctx.Done():
		var zero Out
		return zero, ctx.Err()
	}
}

// Done is closed when the task has finished.
func (f *Future[Out]) Done() <-chan struct{} { return f.done }

// Cancel stops the task: a queued task does not start, a running one has its context
// cancelled and its worker killed after the grace period. Wait then returns context.Canceled.
// Cancel after the task finished does nothing.
func (f *Future[Out]) Cancel() {
	if f.job != nil {
		f.job.Cancel(context.Canceled)
	}
}

// oneWork is the work of a single task.
type oneWork[In, Out any] struct {
	f   *Func[In, Out]
	in  In
	fut *Future[Out]
}

func (w *oneWork[In, Out]) Func() string { return w.f.name }

func (w *oneWork[In, Out]) EncodeInputs(enc *wire.Encoder, lo, hi int) error {
	return w.f.in.Encode(enc, []In{w.in})
}

func (w *oneWork[In, Out]) DecodeOutputs(dec *wire.Decoder, lo, hi int) error {
	outs := make([]Out, 1)
	if err := w.f.out.Decode(dec, outs); err != nil {
		return err
	}
	w.fut.out = outs[0]
	return nil
}

func (w *oneWork[In, Out]) Finish(_, _ int, err error) {
	w.fut.err = err
	if err != nil {
		var zero Out
		w.fut.out = zero
	}
	close(w.fut.done)
	if w.fut.job != nil {
		w.fut.job.Release()
	}
}
