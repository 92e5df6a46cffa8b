package engine

import (
	"errors"
	"slices"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/multiproc/multiproc/internal/backend"
)

// died settles what a worker held when it ended, and starts its replacement. The item it was
// running (per its status page) fails, or runs again if retries allow; the other items it held
// run again elsewhere. What becomes of each item is decided by blame and decide.
func (w *proc) died(protoErr error) {
	e := w.e
	e.mu.Lock()
	w.dead = true
	for k, x := range e.workers {
		if x == w {
			e.workers = slices.Delete(e.workers, k, k+1)
			e.live--
			break
		}
	}
	held := w.inflight
	w.inflight = nil
	cause := w.cause
	stopping := e.stopping
	requeue := e.cfg.Replace && !stopping // other workers will take what w held
	// A recycled worker's replacement was started when it began retiring.
	replace := requeue && cause != causeRecycled
	e.updateIdle()
	e.loadChanged()
	e.mu.Unlock()

	_, sig := w.child.Exit()
	cause = cause.confirmed(sig)
	if cause == causeSocket && protoErr == nil {
		protoErr = errLostSocket
	}
	d := w.death(protoErr)
	if len(held) > 0 || cause != causeStopped {
		e.log("worker exited", "name", w.name, "pid", d.Pid, "exit_code", d.ExitCode,
			"signal", sigName(d.Signal), "holding", len(held), "cause", cause.String())
	}
	var st lastStatus
	st.batch, st.item, st.running = w.child.Running()
	st.taken = w.child.Taken()
	var again []*batch
	for n, b := range held {
		if err := b.job.canceled(); err != nil {
			e.finishRange(b, b.hi, err)
			continue
		}
		if stopping {
			e.finishRange(b, b.hi, e.closedErr())
			continue
		}
		k, bounced := blame(b, n, st)
		if bounced {
			b.bounced++
		}
		var err error = &backend.DiedError{Death: d}
		if k >= 0 {
			err = e.blameErr(cause, d)
			w.logBlame(cause)
		}
		f := decide(b.next, b.hi, b.attempt, k, requeue, cause.retryable(), e.cfg.Retries)
		for _, s := range f.again {
			again = append(again, b.rest(s.lo, s.hi, s.attempt)...)
		}
		if f.failLo < f.failHi {
			b.next = f.failLo
			e.finishRange(b, f.failHi, err)
		}
	}
	if len(again) > 0 {
		e.mu.Lock()
		e.queue.pushFront(again)
		e.mu.Unlock()
	}
	if replace {
		e.restartCounter(cause).Add(1)
		e.restarted.Add(1)
		e.wg.Add(1)
		go e.replace()
	}
	if len(again) > 0 {
		e.kick()
	}
}

// lastStatus is what a dead worker's status page said last.
type lastStatus struct {
	running bool   // it was running an item
	batch   uint64 // the batch of that item
	item    int    // that item's index in its batch
	taken   uint64 // the last batch whose frame it had read
}

// blame returns the item of b, the nth batch a dead worker held, that its death is blamed on,
// or -1 for none; bounced says that b counts one more worker that died before taking it.
//
// The item it was running is blamed. When its status page shows none (it died between items),
// the first batch it held is blamed if the worker had read it but begun none of its items:
// decoding it may be what killed the worker. Otherwise the worker died of something else (a
// task of its own that left it dying, a kill from outside) and the batch runs again elsewhere,
// but not for ever: after maxBounces such deaths, the next one is blamed, so that a worker
// that dies again and again without running anything does not requeue the same items
// endlessly. A batch before the running one may be finished but unreported (results wait to be
// sent together): it is run again, not blamed.
func blame(b *batch, n int, s lastStatus) (k int, bounced bool) {
	k = -1
	switch {
	case s.running && s.batch == b.id:
		k = b.lo + s.item
	case s.running || n > 0:
	case s.taken >= b.id && s.batch != b.id, b.bounced >= maxBounces:
		k = b.next
	default:
		return -1, true
	}
	if k < b.next || k >= b.hi {
		k = -1
	}
	return k, false
}

// span is a range of a batch's items to run again, as attempt.
type span struct{ lo, hi, attempt int }

// fate is what becomes of a dead worker's batch's unfinished items.
type fate struct {
	again          []span // run again elsewhere
	failLo, failHi int    // fail with the death's error (none when equal)
}

// decide says what becomes of the unfinished items next..hi-1 of a batch run as attempt, whose
// worker died blaming item k (-1: none). requeue says whether other workers will take work
// (not when the engine is stopping, nor for a Process); retryable whether the death is one
// that Retries covers (not a timeout, not the memory limit). Without requeue every item fails;
// otherwise only the blamed item may, once it has had its retries, and the others run again.
func decide(next, hi, attempt, k int, requeue, retryable bool, retries int) fate {
	if !requeue {
		return fate{failLo: next, failHi: hi}
	}
	if k < 0 {
		return fate{again: spans(span{next, hi, attempt})}
	}
	if retryable && attempt <= retries {
		return fate{again: spans(span{next, k, attempt}, span{k, k + 1, attempt + 1}, span{k + 1, hi, attempt})}
	}
	return fate{again: spans(span{next, k, attempt}, span{k + 1, hi, attempt}), failLo: k, failHi: k + 1}
}

// spans drops the empty ones.
func spans(ss ...span) []span {
	return slices.DeleteFunc(ss, func(s span) bool { return s.lo >= s.hi })
}

// blameErr is the failure of the item a worker's death is blamed on.
func (e *Engine) blameErr(cause killCause, d backend.Death) error {
	switch cause {
	case causeTimeout:
		return &backend.TimeoutError{After: e.cfg.Timeout}
	case causeMemory:
		return &backend.MemoryError{Death: d, Limit: e.cfg.MemLimit}
	}
	return &backend.DiedError{Death: d}
}

// logBlame logs why the blamed item failed, when the engine killed its worker for it.
func (w *proc) logBlame(cause killCause) {
	e := w.e
	switch cause {
	case causeTimeout:
		e.log("task timed out", "name", w.name, "pid", w.child.Pid, "timeout", e.cfg.Timeout)
	case causeMemory:
		e.log("task over the memory limit", "name", w.name, "pid", w.child.Pid, "limit", e.cfg.MemLimit)
	}
}

// confirmed is the cause of a death that ended the worker with sig. A worker whose control
// socket ended was killed for it only if SIGKILL ended it: a worker that crashed, its socket
// closing as it died, and was reaped late (on a loaded machine) was not (see socketEnded).
func (c killCause) confirmed(sig syscall.Signal) killCause {
	if c == causeSocket && sig != syscall.SIGKILL {
		return causeNone
	}
	return c
}

// retryable reports whether a death of this cause is one that Retries covers.
func (c killCause) retryable() bool { return c != causeTimeout && c != causeMemory }

// restartCounter is the counter of replacements for deaths of this cause.
func (e *Engine) restartCounter(c killCause) *atomic.Int64 {
	switch c {
	case causeTimeout:
		return &e.timedOut
	case causeMemory:
		return &e.memKilled
	case causeRecycled:
		return &e.recycled // counted when the worker began retiring (see retire)
	}
	return &e.died
}

// rest is a new batch of the items lo..hi-1 of b, or none.
func (b *batch) rest(lo, hi, attempt int) []*batch {
	if lo >= hi {
		return nil
	}
	return []*batch{{job: b.job, lo: lo, hi: hi, next: lo, attempt: attempt, single: b.single,
		bounced: b.bounced}}
}

// maxBounces is how many workers may die before taking a batch until the next one to do so is
// blamed for it.
const maxBounces = 3

// replace starts a worker in place of one that ended, trying again with growing pauses while it
// fails: a start that fails under a storm of deaths (a worker killed during its handshake) is
// no reason to fail work. Only when no worker has been live, and none could be started, for
// Config.GiveUp does the queued work fail, with a StartError saying for how long; the engine
// goes on trying, and work submitted meanwhile fails at once until a worker starts.
func (e *Engine) replace() {
	defer e.wg.Done()
	pause := 50 * time.Millisecond
	for {
		w, err := e.startWorker(e.nextName())
		e.mu.Lock()
		if e.stopping {
			e.mu.Unlock()
			if w != nil {
				w.child.Signal(syscall.SIGKILL)
				<-w.child.Done()
			}
			return
		}
		if err == nil {
			e.down, e.unavailable = time.Time{}, nil
			e.adopt(w)
			e.updateIdle()
			e.loadChanged()
			e.mu.Unlock()
			e.log("worker replaced", "name", w.name, "pid", w.child.Pid)
			e.kick()
			return
		}
		var failed []*batch
		switch {
		case errors.As(err, new(*backend.InitError)) && e.queue.len() > 0:
			// The task the new worker was meant for fails with the initializer's error.
			b := e.queue.pop()
			failed = b.rest(b.next, b.next+1, b.attempt)
			e.queue.pushFront(b.rest(b.next+1, b.hi, b.attempt))
			e.loadChanged()
		case e.live == 0:
			now := time.Now()
			if e.down.IsZero() {
				e.down = now
			}
			if lasting := now.Sub(e.down); lasting >= e.cfg.GiveUp {
				err = gaveUp(err, lasting)
				e.unavailable = err
				failed = e.queue.removeAll()
				e.loadChanged()
			}
		}
		e.mu.Unlock()
		e.log("worker failed to start", "error", err, "retry_in", pause)
		for _, b := range failed {
			e.finishRange(b, b.hi, err)
		}
		select {
		case <-e.stopTick:
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, 5*time.Second)
	}
}

// gaveUp is the failure of work that waited for a worker while none could be started for
// lasting.
func gaveUp(err error, lasting time.Duration) error {
	se, ok := err.(*backend.StartError)
	if !ok {
		se = &backend.StartError{Err: err}
	}
	c := *se
	c.Lasting = lasting.Round(time.Millisecond)
	return &c
}

func (e *Engine) log(msg string, args ...any) {
	if e.cfg.Logger != nil {
		e.cfg.Logger.Info(msg, args...)
	}
}

func sigName(s syscall.Signal) string {
	if s == 0 {
		return ""
	}
	return s.String()
}
