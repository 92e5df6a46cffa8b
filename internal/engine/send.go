package engine

import (
	"time"

	"github.com/multiproc/multiproc/internal/wire"
)

// The sender: batches and cancellations become frames on the worker's ring, under writeMu.

// send encodes batches into one write. A batch whose inputs cannot be encoded is split into
// single items, so that only the item that cannot travel fails.
func (w *proc) send(bs []*batch) {
	e := w.e
	w.writeMu.Lock()
	var unsent []*batch
	var errs []error
	for _, b := range bs {
		wire.EncodeBatchHeader(w.enc, b.id, wire.BatchHeader{Func: b.job.work.Func(),
			Count: uint32(b.hi - b.next), Timeout: int64(e.cfg.Timeout), Attempt: uint32(b.attempt)})
		err := b.job.work.EncodeInputs(w.enc, b.next, b.hi)
		if err == nil {
			err = w.enc.End()
		} else {
			w.enc.Abort()
		}
		if err != nil {
			unsent = append(unsent, b)
			errs = append(errs, err)
		}
	}
	if w.enc.Len() >= bigWrite {
		// A large write waits for the worker to take it through the ring, for milliseconds,
		// and the goroutine sending is often the one that reads this worker's results (see
		// last): the worker, meanwhile writing results nobody reads, would wait for room too,
		// and the two directions would take turns instead of flowing together. The write goes
		// on in a goroutine of its own, which holds writeMu until it is done, so that frames
		// keep their order.
		go w.writeFrames()
	} else {
		w.writeFrames()
	}
	if len(unsent) == 0 {
		return
	}
	e.mu.Lock()
	w.removeInflight(unsent...)
	var split []*batch
	var failed []int
	for k, b := range unsent {
		if b.single || b.hi-b.next == 1 {
			failed = append(failed, k)
			continue
		}
		for i := b.next; i < b.hi; i++ {
			split = append(split, &batch{job: b.job, lo: i, hi: i + 1, next: i, attempt: b.attempt, single: true})
		}
	}
	e.queue.pushFront(split)
	e.updateIdle()
	e.loadChanged()
	e.mu.Unlock()
	for _, k := range failed {
		e.finishRange(unsent[k], unsent[k].hi, errs[k])
	}
	if len(split) > 0 {
		e.kick()
	}
}

// bigWrite is the size from which send writes in a goroutine of its own: half a ring.
const bigWrite = 128 << 10

// writeFrames writes the frames encoded so far and releases writeMu, which the caller holds.
func (w *proc) writeFrames() {
	_, err := w.enc.WriteTo(&w.child.Rings.Writer)
	w.writeMu.Unlock()
	if err != nil {
		w.kill(causeNone) // the reader sees the end and requeues what w held
	}
}

// cancelBatches asks the worker to stop batches and kills it if they have not finished
// within the grace period.
func (w *proc) cancelBatches(ids []uint64) {
	w.writeMu.Lock()
	for _, id := range ids {
		wire.EncodeCancel(w.enc, id)
	}
	w.enc.WriteTo(&w.child.Rings.Writer)
	w.writeMu.Unlock()
	time.AfterFunc(w.e.cfg.Grace, func() {
		w.e.mu.Lock()
		stuck := false
		for _, b := range w.inflight {
			for _, id := range ids {
				stuck = stuck || b.id == id
			}
		}
		w.e.mu.Unlock()
		if stuck {
			w.kill(causeCanceled)
		}
	})
}
