package engine

import (
	"context"

	"github.com/multiproc/multiproc/internal/backend"
)

// Job is one call's worth of items (a Map, a stream, an Apply) that share a Work and are
// cancelled together.
type Job struct {
	e         *Engine
	work      backend.Work
	err       error // why the job was cancelled; guarded by e.mu
	stopWatch func() bool
	released  bool
	internal  bool // the engine's own (an initializer): not counted in the stats

	// Guarded by e.mu: the caller will wait for the job right after submitting it (Expect),
	// and the worker whose reader's role was reserved for it (see needReader).
	expecting bool
	reader    *proc
}

// batch is a range of a job's items that one worker runs in one go.
type batch struct {
	job     *Job
	lo, hi  int
	next    int // first item not finished yet; moved only by the batch's holder
	attempt int
	id      uint64 // set when a worker takes it
	single  bool   // split off a batch whose inputs could not be encoded together
	bounced int    // workers that died holding it before they took it (see died)
}

// NewJob starts a job whose items are cancelled when ctx is.
func (e *Engine) NewJob(ctx context.Context, w backend.Work) (backend.Job, error) {
	e.mu.Lock()
	if e.closing {
		e.mu.Unlock()
		return nil, e.closedErr()
	}
	e.jobs++
	e.mu.Unlock()
	j := &Job{e: e, work: w}
	if ctx.Done() != nil {
		j.stopWatch = context.AfterFunc(ctx, func() { j.cancel(cancelErr(ctx)) })
	}
	return j, nil
}

// Release says the caller is done with the job: it will submit no more. Items still running
// go on unless the job was cancelled.
func (j *Job) Release() {
	if j.stopWatch != nil {
		j.stopWatch()
	}
	e := j.e
	e.mu.Lock()
	if !j.released {
		j.released = true
		e.jobs--
		e.loadChanged()
	}
	e.mu.Unlock()
}

// Submit queues items lo..hi-1 as one batch.
func (j *Job) Submit(lo, hi int) {
	j.submit(&batch{job: j, lo: lo, hi: hi, next: lo, attempt: backend.FirstAttempt(j.work)})
}

func (j *Job) submit(b *batch) {
	e := j.e
	e.submitted.Add(int64(b.hi - b.lo))
	e.mu.Lock()
	if err := j.err; err != nil || e.stopping || (e.live == 0 && e.unavailable != nil) {
		switch {
		case err != nil:
		case e.stopping:
			err = e.closedErr()
		default:
			err = e.unavailable
		}
		e.mu.Unlock()
		e.finishRange(b, b.hi, err)
		return
	}
	e.queue.pushBack(b)
	w := e.pickWorker()
	e.mu.Unlock()
	if w != nil {
		w.pump()
	}
}

// Cancel fails the job's unfinished items with err and stops the running ones: they are asked
// to stop through their context, and their workers are killed after the grace period.
func (j *Job) Cancel(err error) { j.cancel(err) }

func (j *Job) cancel(err error) {
	e := j.e
	e.mu.Lock()
	if j.err != nil {
		e.mu.Unlock()
		return
	}
	j.err = err
	queued := e.queue.removeJob(j)
	type held struct {
		w   *proc
		ids []uint64
	}
	var running []held
	for _, w := range e.workers {
		var ids []uint64
		for _, b := range w.inflight {
			if b.job == j {
				ids = append(ids, b.id)
			}
		}
		if ids != nil {
			running = append(running, held{w, ids})
		}
	}
	e.loadChanged()
	e.mu.Unlock()
	for _, b := range queued {
		e.finishRange(b, b.hi, err)
	}
	for _, h := range running {
		h.w.cancelBatches(h.ids)
	}
}

// canceled returns the job's cancellation error, if any.
func (j *Job) canceled() error {
	j.e.mu.Lock()
	defer j.e.mu.Unlock()
	return j.err
}

// finishRange finishes items b.next..to-1 with err (outputs when err is nil).
func (e *Engine) finishRange(b *batch, to int, err error) {
	if b.next >= to {
		return
	}
	n := int64(to - b.next)
	switch {
	case b.job.internal:
	case err == nil:
		e.completed.Add(n)
	default:
		e.failed.Add(n)
	}
	lo := b.next
	b.next = to
	b.job.work.Finish(lo, to, err)
}

// batchQueue is the FIFO of batches waiting for a worker; requeued work goes to the front.
type batchQueue struct {
	b     []*batch
	items int
}

func (q *batchQueue) len() int { return len(q.b) }

func (q *batchQueue) pushBack(b *batch) {
	q.b = append(q.b, b)
	q.items += b.hi - b.next
}

func (q *batchQueue) pushFront(bs []*batch) {
	for _, b := range bs {
		q.items += b.hi - b.next
	}
	q.b = append(bs[:len(bs):len(bs)], q.b...)
}

func (q *batchQueue) pop() *batch {
	b := q.b[0]
	q.b[0] = nil
	q.b = q.b[1:]
	q.items -= b.hi - b.next
	return b
}

func (q *batchQueue) removeJob(j *Job) []*batch {
	var out []*batch
	keep := q.b[:0]
	for _, b := range q.b {
		if b.job == j {
			out = append(out, b)
			q.items -= b.hi - b.next
		} else {
			keep = append(keep, b)
		}
	}
	clear(q.b[len(keep):])
	q.b = keep
	return out
}

func (q *batchQueue) removeAll() []*batch {
	out := q.b
	q.b, q.items = nil, 0
	return out
}
