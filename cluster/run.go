package cluster

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/hostwork"
	"github.com/multiproc/multiproc/internal/wire"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// run is a task a host holds.
type run struct {
	h      *host
	m      jetstream.Msg
	t      *task
	cancel context.CancelFunc // stops the task's items on the local pool
	done   chan struct{}      // closed when every item is finished

	batch hostwork.Batch // the decoded inputs, and the outputs

	mu       sync.Mutex
	segments []segment
	left     int
	ended    bool // replied, handed back or cancelled: whoever set it acts on the message
	dropped  bool // its call was cancelled: ack it, publish nothing
}

// run runs the task's items on the local pool, publishes their result and acks the task.
func (r *run) run(ctx context.Context) {
	h, t := r.h, r.t
	defer h.wg.Done()
	defer r.cancel()
	stopProgress := r.progress()
	defer stopProgress()
	attempt, lo := t.attempt, t.lo
	if meta, err := r.m.Metadata(); err == nil && meta.NumDelivered > 1 {
		attempt, lo = r.lost(int(meta.NumDelivered - 1))
	}
	if lo < t.hi {
		r.exec(ctx, lo, attempt)
	}
	<-r.done
	r.mu.Lock()
	mine := !r.ended // neither handed back nor cancelled: the reply is this goroutine's
	r.ended = true
	dropped := r.dropped
	r.mu.Unlock()
	// Its worker is free: the host takes the next task while this one's result goes out.
	h.mu.Lock()
	delete(h.runs, r)
	h.mu.Unlock()
	select {
	case h.freed <- struct{}{}:
	default:
	}
	switch {
	case mine:
		r.reply(attempt)
	case dropped:
		r.m.Ack()
	}
}

// lost accounts for the hosts that held the task before and vanished (losses of them): each
// is a worker death for the task's first item, which runs again while Retries allow; past
// that it fails and the others run. It returns the attempt to run with and the first item to
// run.
func (r *run) lost(losses int) (attempt, lo int) {
	t := r.t
	if t.attempt+losses-1 <= t.retries {
		return t.attempt + losses, t.lo
	}
	r.finished(0, 1, &backend.DiedError{Death: backend.Death{ExitCode: -1,
		Cause: fmt.Errorf("its host went silent for %v (lost)", r.h.c.lostAfter)}}, true)
	return t.attempt, t.lo + 1
}

// valuesWait bounds how long a host tries to read a task's large inputs: they may be gone
// for good (the call was cancelled and they were purged).
const valuesWait = 30 * time.Second

// errStopped is what a host's local job is cancelled with when an item runs past the pool's
// TaskTimeout: the item fails with the timeout, and the items after it run in a new job.
var errStopped = errors.New("cluster: stopped for a timeout")

// exec decodes the task's inputs and runs items lo.. of them on the local pool. Without a
// pool TaskTimeout they go as one batch. With one, they go one at a time, each timed from
// when it is submitted to a worker that is free: one past it has its job cancelled, so that its ctx ends and its worker
// is killed after the grace period, and fails with the timeout; the next items run in a new
// job. A TaskTimeout of the host's own workers is enforced by the local pool itself; the
// shorter applies. Cancelling ctx stops them all.
func (r *run) exec(ctx context.Context, lo, attempt int) {
	h, t := r.h, r.t
	n := t.hi - t.lo
	fail := func(err error) {
		r.finished(lo-t.lo, n, &backend.RemoteError{Err: wire.Error{Type: fmt.Sprintf("%T", err), Message: err.Error()}}, false)
	}
	var frame []byte
	getCtx, cancel := context.WithTimeout(ctx, valuesWait)
	err := retry(getCtx, func(ctx context.Context) (err error) { // the server may be restarting
		frame, err = h.store.get(ctx, t.values)
		return err
	})
	cancel()
	if err != nil {
		fail(err)
		return
	}
	dec, err := decoderOf(frame)
	if err != nil {
		fail(err)
		return
	}
	type finish struct {
		i, j int
		err  error
	}
	events := make(chan finish, n)
	b, err := hostwork.Decode(t.fn, dec, n, func(i, j int, err error) { events <- finish{i, j, err} })
	if err != nil {
		fail(err)
		return
	}
	r.batch = b
	work := &hostwork.Run{Batch: b, Attempt: attempt}
	next := lo - t.lo // the first item not submitted yet
	for next < n {
		job, err := h.be.NewJob(ctx, work)
		if err != nil {
			r.finished(next, n, err, false)
			return
		}
		var expired <-chan time.Time
		var timer *time.Timer
		submit := func() int { // submits what goes next and returns how many items
			if t.timeout == 0 {
				job.Submit(next, n)
				return n - next
			}
			// Timed from when a worker can take it: a worker killed for the item before it
			// may still be being replaced.
			for !h.be.Idle() && ctx.Err() == nil {
				time.Sleep(2 * time.Millisecond)
			}
			if timer == nil {
				timer = time.NewTimer(t.timeout)
				expired = timer.C
			} else {
				timer.Reset(t.timeout)
			}
			job.Submit(next, next+1)
			return 1
		}
		pending := submit()
		next += pending
		canceled := ctx.Done()
		timedOut := false
		for pending > 0 {
			select {
			case ev := <-events:
				pending -= ev.j - ev.i
				if ev.err == errStopped {
					ev.err = &backend.TimeoutError{After: t.timeout}
				}
				r.finished(ev.i, ev.j, ev.err, false)
				if pending == 0 && next < n && !timedOut && ctx.Err() == nil {
					pending = submit()
					next += pending
				}
			case <-expired:
				timedOut = true
				job.Cancel(errStopped)
			case <-canceled:
				canceled = nil
				job.Cancel(ctx.Err())
			}
		}
		if timer != nil {
			timer.Stop()
		}
		job.Release()
		if ctx.Err() != nil {
			if next < n {
				r.finished(next, n, ctx.Err(), false)
			}
			return
		}
	}
}

// finished records that items i..j-1 (of the task, from 0) are done.
func (r *run) finished(i, j int, err error, final bool) {
	sg := segment{lo: r.t.lo + i, hi: r.t.lo + j}
	if err != nil {
		sg.failed = failureOf(err)
		sg.failed.Final = final
	}
	r.mu.Lock()
	r.segments = append(r.segments, sg)
	r.left -= j - i
	left := r.left
	r.mu.Unlock()
	if left == 0 {
		close(r.done)
	}
}

// progress tells the server, every third of LostAfter, that the task is still being worked
// on, so that it is not given to another host.
func (r *run) progress() (stop func()) {
	every := r.h.c.lostAfter / 3
	tick := time.NewTicker(every)
	quit := make(chan struct{})
	go func() {
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				r.m.InProgress()
			case <-quit:
				return
			}
		}
	}()
	return func() { close(quit) }
}

// reply publishes the task's result, then acks the task: a host that dies in between has its
// task run again, and the pool keeps the first result.
func (r *run) reply(attempt int) {
	h, t := r.h, r.t
	r.mu.Lock()
	segments := r.segments
	r.mu.Unlock()
	sort.Slice(segments, func(a, b int) bool { return segments[a].lo < segments[b].lo })
	ctx, cancel := context.WithTimeout(context.Background(), 10*h.c.lostAfter)
	defer cancel()
	var stored []values
	for k := range segments {
		sg := &segments[k]
		if sg.failed != nil {
			continue
		}
		frame, err := frameOf(func(enc *wire.Encoder) error {
			return r.batch.EncodeOutputs(enc, sg.lo-t.lo, sg.hi-t.lo)
		})
		if err == nil {
			err = retry(ctx, func(ctx context.Context) error {
				v, err := h.store.put(ctx, frame)
				sg.values = v
				return err
			})
		}
		if err != nil {
			sg.failed = failureOf(&backend.RemoteError{Err: wire.Error{Type: fmt.Sprintf("%T", err), Message: err.Error()}})
			continue
		}
		stored = append(stored, sg.values)
	}
	data, err := encodeResult(&result{task: t.id, attempt: attempt, host: h.id, segments: segments})
	if err != nil {
		h.log("encoding a result", "err", err)
		r.m.Term()
		return
	}
	meta, _ := r.m.Metadata()
	msg := nats.NewMsg(h.l.resultSubject(t.pool))
	msg.Data = data
	if meta != nil {
		msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s.%d.%d", t.pool, t.id, meta.NumDelivered))
	}
	if err := retry(ctx, func(ctx context.Context) error {
		_, err := h.js.PublishMsg(ctx, msg)
		return err
	}); err != nil {
		h.log("publishing a result", "err", err)
		for _, v := range stored {
			h.store.drop(context.Background(), v)
		}
		return // the task is given to another host after LostAfter
	}
	r.m.Ack()
}
