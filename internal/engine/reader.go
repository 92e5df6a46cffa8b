package engine

import (
	"runtime"
	"time"
)

// The reader's role. One goroutine at a time reads a worker's ring and handles its frames:
// the worker's read loop, or a caller waiting for the result of a task it just submitted
// (Apply). A caller that reads its own result is not woken by the read loop: on a VM, waking
// a goroutine often means waking a thread on the other CPU, tens of microseconds, more than
// the rest of a round trip. The read loop holds the role while the worker holds work that
// nobody else waits on, and sleeps without it otherwise; it also takes it to read the
// worker's last frames and settle it when its process ends.

// notify wakes a goroutine waiting on ch without waiting: one pending wake-up is enough.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// needReader is called when b joins w's work. A job whose caller is about to wait for it
// (see Job.Expect) gets the role reserved when nobody holds it; otherwise it reports whether
// the read loop must be woken to take it. e.mu is held.
func (w *proc) needReader(b *batch) bool {
	if w.reading {
		return false
	}
	if j := b.job; j.expecting && j.reader == nil {
		w.reading = true
		j.reader = w
		return false
	}
	return true
}

// readLoop reads the worker's frames whenever it holds work and nobody else reads, until the
// worker's frames end.
func (w *proc) readLoop() {
	defer w.e.wg.Done()
	for w.awaitRole() {
		for {
			if w.step() {
				return
			}
			if !w.keepRole() {
				break
			}
		}
	}
}

// awaitRole waits until the worker holds work and nobody reads it, or its process has ended,
// and takes the role. It reports false when the worker's frames have ended.
func (w *proc) awaitRole() bool {
	e := w.e
	done := w.child.Done()
	for {
		e.mu.Lock()
		if w.ended {
			e.mu.Unlock()
			return false
		}
		if !w.reading && (len(w.inflight) > 0 || w.exited) {
			w.reading = true
			e.mu.Unlock()
			return true
		}
		e.mu.Unlock()
		select {
		case <-w.wake:
		case <-done:
			done = nil
			e.mu.Lock()
			w.exited = true
			e.mu.Unlock()
		}
	}
}

// keepRole reports whether the holder of the role should go on reading: the worker holds
// work, or its process has ended. If not, the role is given up.
func (w *proc) keepRole() bool {
	e := w.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(w.inflight) > 0 || w.exited {
		return true
	}
	w.reading = false
	return false
}

// releaseRole gives up the role taken by a caller, waking the read loop if there is still
// something to read.
func (w *proc) releaseRole() {
	e := w.e
	e.mu.Lock()
	w.reading = false
	more := len(w.inflight) > 0 || w.exited
	e.mu.Unlock()
	if more {
		notify(w.wake)
	}
}

// Expect says the caller will wait for the job's result right after submitting it, and may
// read it itself (see Await).
func (j *Job) Expect() {
	j.e.mu.Lock()
	j.expecting = true
	j.e.mu.Unlock()
}

// Await lets the calling goroutine, which Expect'ed the job, read its worker's frames until
// done is closed, while frames keep coming, or until stop is closed. It returns when it is no
// longer of use; the caller then waits for done as it would have.
func (j *Job) Await(done, stop <-chan struct{}) {
	e := j.e
	for {
		e.mu.Lock()
		w := j.reader
		j.reader = nil
		if w == nil {
			j.expecting = false
			e.mu.Unlock()
			return
		}
		e.mu.Unlock()
		if !w.readUntil(done, stop) {
			w.releaseRole()
		}
	}
}

// readUntil reads and handles w's frames, holding the role, until done or stop is closed or
// no frame has come for spinWindow. It reports whether w's frames have ended (the role is
// then kept for ever); otherwise the caller gives the role up.
func (w *proc) readUntil(done, stop <-chan struct{}) (ended bool) {
	for {
		select {
		case <-done:
			return false
		case <-stop:
			return false
		default:
		}
		if !w.pollRing(spinWindow) {
			return false
		}
		if w.step() {
			return true
		}
	}
}

// pollRing polls w's ring for up to d, and reports whether a frame is there to read.
func (w *proc) pollRing(d time.Duration) bool {
	r := &w.child.Rings.Reader
	if r.Ready() {
		return true
	}
	until := time.Now().Add(d)
	for spins := 1; ; spins++ {
		if r.Ready() {
			return true
		}
		if spins%64 == 0 {
			if time.Now().After(until) {
				return false
			}
			runtime.Gosched()
		}
	}
}
