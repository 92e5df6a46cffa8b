package engine

import (
	"errors"
	"slices"
	"syscall"
	"time"

	"github.com/multiproc/multiproc/internal/backend"
)

// died settles what a worker held when it ended, and starts its replacement. The item it was
// running (per its status page) fails, or runs again if retries allow; the other items it held
// run again elsewhere.
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

	if cause == causeSocket && protoErr == nil {
		protoErr = errLostSocket
	}
	d := w.death(protoErr)
	if len(held) > 0 || cause != causeStopped {
		e.log("worker exited", "name", w.name, "pid", d.Pid, "exit_code", d.ExitCode,
			"signal", sigName(d.Signal), "holding", len(held), "cause", cause.String())
	}
	batchID, item, running := w.child.Running()
	taken := w.child.Taken() // the last batch whose frame it read
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
		// The item it was running is blamed. When its status page shows none (it died
		// between items), the first batch it held is blamed if the worker had read it but
		// begun none of its items: decoding it may be what killed the worker. Otherwise the
		// worker died of something else (a task of its own that left it dying, a kill from
		// outside) and the batch runs again elsewhere, but not for ever: a worker that dies
		// again and again without running anything must not requeue the same items
		// endlessly. A batch before the running one may be finished but unreported (results
		// wait to be sent together): it is run again, not blamed.
		k := -1
		switch {
		case running && batchID == b.id:
			k = b.lo + item
		case running || n > 0:
		case taken >= b.id && batchID != b.id, b.bounced >= maxBounces:
			k = b.next
		default:
			b.bounced++
		}
		if k < b.next || k >= b.hi {
			k = -1
		}
		var kErr error
		if k >= 0 {
			switch {
			case cause == causeTimeout:
				kErr = &backend.TimeoutError{After: e.cfg.Timeout}
				e.log("task timed out", "name", w.name, "pid", d.Pid, "timeout", e.cfg.Timeout)
			case cause == causeMemory:
				kErr = &backend.MemoryError{Death: d, Limit: e.cfg.MemLimit}
				e.log("task over the memory limit", "name", w.name, "pid", d.Pid, "limit", e.cfg.MemLimit)
			default:
				kErr = &backend.DiedError{Death: d}
			}
		}
		if !requeue {
			// No worker will take the rest: it fails with the same error.
			if kErr == nil {
				kErr = &backend.DiedError{Death: d}
			}
			e.finishRange(b, b.hi, kErr)
			continue
		}
		if k < 0 {
			again = append(again, b.rest(b.next, b.hi, b.attempt)...)
			continue
		}
		again = append(again, b.rest(b.next, k, b.attempt)...)
		if cause != causeTimeout && cause != causeMemory && b.attempt <= e.cfg.Retries {
			again = append(again, b.rest(k, k+1, b.attempt+1)...)
		} else {
			b.next = k
			e.finishRange(b, k+1, kErr)
		}
		again = append(again, b.rest(k+1, b.hi, b.attempt)...)
	}
	if len(again) > 0 {
		e.mu.Lock()
		e.queue.pushFront(again)
		e.mu.Unlock()
	}
	if replace {
		switch cause {
		case causeTimeout:
			e.timedOut.Add(1)
		case causeMemory:
			e.memKilled.Add(1)
		default:
			e.died.Add(1)
		}
		e.restarted.Add(1)
		e.wg.Add(1)
		go e.replace()
	}
	if len(again) > 0 {
		e.kick()
	}
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
