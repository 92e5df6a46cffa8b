package engine

import "time"

// The scheduler: which worker takes the queued batches, and how many it may hold. A worker
// "pumps" the queue (pump) while it has room; one goroutine at a time does so for a worker.

// pickWorker chooses a worker to pump the queue, preferring idle ones, and marks it sending.
// e.mu is held.
func (e *Engine) pickWorker() *proc {
	var best *proc
	for _, w := range e.workers {
		if !w.open() {
			continue
		}
		if w.sending {
			return nil // it will take what is queued
		}
		if best == nil || len(w.inflight) < len(best.inflight) {
			best = w
		}
	}
	if best != nil {
		best.sending = true
	}
	return best
}

// pump sends queued batches to w while it has room. The caller set w.sending.
func (w *proc) pump() {
	e := w.e
	for {
		e.mu.Lock()
		var take []*batch
		rouse := false
		for !e.stopping && w.open() && e.queue.len() > 0 {
			b := e.queue.pop()
			e.mergeNext(w, b)
			if e.cfg.MaxTasks > 0 {
				b = e.takeQuota(w, b)
			}
			e.nextID++
			b.id = e.nextID
			if len(w.inflight) == 0 {
				w.busySince.Store(time.Now().UnixNano())
			}
			w.inflight = append(w.inflight, b)
			take = append(take, b)
			rouse = w.needReader(b) || rouse
		}
		if len(take) == 0 {
			w.sending = false
			e.updateIdle()
			e.mu.Unlock()
			return
		}
		e.updateIdle()
		e.mu.Unlock()
		if rouse {
			notify(w.wake)
		}
		w.send(take)
	}
}

// open reports whether w may take another batch: it is alive, not retiring, and holds fewer
// than Depth batches. When tasks are quick it may hold more, as many items as it runs in
// about queueAhead (see itemsAhead), so that it always has the next ones at hand; slow tasks
// are not queued deeply, so that they spread evenly over the workers. e.mu is held.
func (w *proc) open() bool {
	if w.dead || w.retiring {
		return false
	}
	n := len(w.inflight)
	if n < w.e.cfg.Depth {
		return true
	}
	return n < maxBatchesHeld && w.held() < w.e.itemsAhead()
}

// held counts the items of the batches w holds, finished ones included (b.next belongs to the
// reader). e.mu is held.
func (w *proc) held() int {
	items := 0
	for _, b := range w.inflight {
		items += b.hi - b.lo
	}
	return items
}

// How deep a worker's queue of quick tasks may go.
const (
	queueAhead     = 2 * time.Millisecond
	maxItemsAhead  = 256
	maxBatchesHeld = 64
)

// itemsAhead is how many items a worker may hold: enough for queueAhead of work, as the
// recent time per item says, and 1 until that is known.
func (e *Engine) itemsAhead() int {
	per := e.itemNanos.Load()
	if per <= 0 {
		return 1
	}
	return int(min(max(queueAhead.Nanoseconds()/per, 1), maxItemsAhead))
}

// noteProgress updates the time per item from k items that w finished since it last reported.
func (w *proc) noteProgress(k int) {
	now := time.Now().UnixNano()
	w.lastResult.Store(now)
	since := w.busySince.Swap(now)
	if since <= 0 || k <= 0 {
		return
	}
	sample := (now - since) / int64(k)
	e := w.e
	if old := e.itemNanos.Load(); old > 0 {
		sample = old + (sample-old)/8
	}
	e.itemNanos.Store(max(sample, 1))
}

// mergeNext extends b with the batches queued right after it that continue it, while w may
// hold more: many one-item batches (ChunkSize(1)) of quick tasks then cost one message, and
// still one item is what a death or a failure costs. e.mu is held.
func (e *Engine) mergeNext(w *proc, b *batch) {
	room := e.itemsAhead() - w.held() - (b.hi - b.next)
	for room > 0 && e.queue.len() > 0 {
		n := e.queue.b[0]
		if n.job != b.job || n.lo != b.hi || n.next != n.lo || n.attempt != b.attempt || n.single || b.single {
			return
		}
		if n.hi-n.lo > room {
			return
		}
		e.queue.pop()
		room -= n.hi - n.lo
		b.hi = n.hi
	}
}

// takeQuota trims b to what w may still run before it is recycled, putting the rest back at
// the front of the queue, and retires w when it has its last task. e.mu is held.
func (e *Engine) takeQuota(w *proc, b *batch) *batch {
	quota := e.cfg.MaxTasks - w.assigned
	if n := b.hi - b.next; n > quota {
		rest := &batch{job: b.job, lo: b.next + quota, hi: b.hi, next: b.next + quota,
			attempt: b.attempt, single: b.single}
		b = &batch{job: b.job, lo: b.next, hi: b.next + quota, next: b.next, attempt: b.attempt,
			single: b.single}
		e.queue.pushFront([]*batch{rest})
	}
	w.assigned += b.hi - b.next
	if w.assigned >= e.cfg.MaxTasks {
		e.retire(w, "max tasks")
	}
	return b
}

// retire stops giving w work and starts its replacement now, so that the replacement is
// ready when w leaves: throughput does not drop while workers are recycled. w leaves when the
// last batch it holds is done (see last). e.mu is held.
func (e *Engine) retire(w *proc, why string) {
	if w.retiring || w.dead || e.stopping {
		return
	}
	w.retiring = true
	w.cause = causeRecycled
	e.recycled.Add(1)
	e.restarted.Add(1)
	e.log("worker recycled", "name", w.name, "pid", w.child.Pid, "reason", why)
	e.wg.Add(1)
	go e.replace()
}

// updateIdle recounts the workers with room. e.mu is held.
func (e *Engine) updateIdle() {
	n := 0
	for _, w := range e.workers {
		if w.open() {
			n++
		}
	}
	e.idle.Store(int32(n))
}

// kick has some worker pump the queue.
func (e *Engine) kick() {
	e.mu.Lock()
	w := e.pickWorker()
	e.mu.Unlock()
	if w != nil {
		w.pump()
	}
}
