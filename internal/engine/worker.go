package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/multiproc/multiproc/internal/memlimit"
	"github.com/multiproc/multiproc/internal/spawn"
	"github.com/multiproc/multiproc/internal/wire"
)

// handshakeTimeout bounds the wait for a new worker's hello.
const handshakeTimeout = 10 * time.Second

// Why the engine ended a worker.
type killCause int

const (
	causeNone     killCause = iota
	causeTimeout            // its item ran past the timeout
	causeCanceled           // its items were cancelled and did not stop in time
	causeStopped            // the engine is closing
	causeRecycled           // it reached MaxTasks or MaxMemory and was replaced
	causeMemory             // it went over the memory limit
)

// worker is the parent's side of one worker process.
type worker struct {
	e     *Engine
	child *spawn.Child
	name  string
	r     *wire.Reader
	dec   *wire.Decoder // one gob stream per connection: the same decoder from the first frame on

	// Guarded by e.mu.
	inflight []*batch // sent or being sent, in order
	sending  bool     // a goroutine is in pump for this worker
	dead     bool
	cause    killCause
	assigned int  // items given to it, for MaxTasks
	retiring bool // it takes no more work and leaves when it has finished what it holds

	busySince  atomic.Int64 // when it last reported results, or started work; 0 while idle
	lastResult atomic.Int64 // when it last reported results

	guard    *memlimit.Guard // its memory limit, if any
	byMemory bool            // it died of its memory limit; set once reaped

	// The reader's role (see reader.go), guarded by e.mu: one goroutine at a time reads the
	// worker's ring. reading says someone holds the role; exited that the process has ended
	// (what it wrote last is still to be read); ended that its frames have ended and the
	// worker was settled. wake rouses the read loop when work comes and nobody reads.
	reading, exited, ended bool
	wake                   chan struct{}

	writeMu sync.Mutex // one writer of frames at a time
	enc     *wire.Encoder

	peer *peerLink // set when large values travel outside the frames (see peer.go)
}

// startWorker starts a worker process and waits for its hello.
func (e *Engine) startWorker(name string) (*worker, error) {
	cfg := spawn.Config{Name: name, Stdout: e.cfg.Stdout, Stderr: e.cfg.Stderr}
	if e.cfg.Prefix {
		cfg.Prefix = "[" + name + "] "
	}
	var guard *memlimit.Guard
	if e.lim != nil {
		var err error
		if guard, cfg.Env, err = e.lim.Prepare([]string{}); err != nil {
			return nil, err
		}
		cfg.CgroupFD, cfg.UseCgroup = guard.CgroupFD()
		cfg.StderrTee = guard.Stderr()
	}
	child, err := spawn.Start(cfg)
	if err != nil {
		if guard != nil {
			guard.Exited(context.Background(), memlimit.Death{})
		}
		return nil, err
	}
	if guard != nil {
		guard.Started(child.Pid)
	}
	w := &worker{e: e, child: child, name: name, enc: wire.NewEncoder(), dec: wire.NewDecoder(),
		guard: guard, wake: make(chan struct{}, 1)}
	child.Rings.Reader.Waiter = &resultWaiter{w: w}
	w.r = wire.NewReader(&child.Rings.Reader, 0)
	err = w.handshake()
	if err == nil && e.cfg.Init != nil {
		err = w.initialize()
	}
	if err != nil {
		child.Signal(syscall.SIGKILL)
		<-child.Done()
		w.released()
		d := w.death(nil)
		if e.cfg.HandshakeErr != nil {
			return nil, e.cfg.HandshakeErr(d, err)
		}
		return nil, err
	}
	e.log("worker started", "name", name, "pid", child.Pid)
	return w, nil
}

func (w *worker) handshake() error {
	late := w.killAfter(handshakeTimeout)
	f, err := w.r.Read()
	if late() {
		return fmt.Errorf("no handshake within %v", handshakeTimeout)
	}
	if err != nil {
		return fmt.Errorf("worker ended before its handshake: %w", err)
	}
	h, err := wire.DecodeHello(w.dec, f)
	if err != nil {
		return err
	}
	if h.Version != wire.Version {
		return fmt.Errorf("worker speaks protocol %d, parent %d", h.Version, wire.Version)
	}
	if h.Identity != spawn.Identity() || int(h.Pid) != w.child.Pid {
		return fmt.Errorf("worker identity %q (pid %d) is not this binary's %q (pid %d)",
			h.Identity, h.Pid, spawn.Identity(), w.child.Pid)
	}
	w.link(h)
	return nil
}

// killAfter kills the worker if d passes before the returned function is called; that
// function reports whether it did. A read of the worker's ring has no deadline of its own: the
// kill ends it (the ring is closed once the worker is reaped).
func (w *worker) killAfter(d time.Duration) (stopped func() bool) {
	var killed atomic.Bool
	t := time.AfterFunc(d, func() {
		killed.Store(true)
		w.child.Signal(syscall.SIGKILL)
	})
	return func() bool {
		t.Stop()
		return killed.Load()
	}
}

func (w *worker) death(cause error) Death {
	code, sig := w.child.Exit()
	return Death{Pid: w.child.Pid, ExitCode: code, Signal: sig, Stderr: w.child.StderrTail(), Cause: cause}
}

// pickWorker chooses a worker to pump the queue, preferring idle ones, and marks it sending.
// e.mu is held.
func (e *Engine) pickWorker() *worker {
	var best *worker
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
func (w *worker) pump() {
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
func (w *worker) open() bool {
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
func (w *worker) held() int {
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
func (w *worker) noteProgress(k int) {
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
func (e *Engine) mergeNext(w *worker, b *batch) {
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
func (e *Engine) takeQuota(w *worker, b *batch) *batch {
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
func (e *Engine) retire(w *worker, why string) {
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

// send encodes batches into one write. A batch whose inputs cannot be encoded is split into
// single items, so that only the item that cannot travel fails.
func (w *worker) send(bs []*batch) {
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
func (w *worker) writeFrames() {
	_, err := w.enc.WriteTo(&w.child.Rings.Writer)
	w.writeMu.Unlock()
	if err != nil {
		w.kill(causeNone) // the reader sees the end and requeues what w held
	}
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

// removeInflight drops batches from w's list. e.mu is held.
func (w *worker) removeInflight(bs ...*batch) {
	for _, b := range bs {
		for k, x := range w.inflight {
			if x == b {
				w.inflight = append(w.inflight[:k], w.inflight[k+1:]...)
				break
			}
		}
	}
}

// cancelBatches asks the worker to stop batches and kills it if they have not finished
// within the grace period.
func (w *worker) cancelBatches(ids []uint64) {
	w.writeMu.Lock()
	for _, id := range ids {
		w.enc.Begin(wire.KindCancel, 0, id)
		w.enc.End()
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

// kill ends the worker's process group now. The reader notices and cleans up.
func (w *worker) kill(cause killCause) {
	w.e.mu.Lock()
	if w.cause == causeNone {
		w.cause = cause
	}
	w.e.mu.Unlock()
	w.child.Signal(syscall.SIGKILL)
}

// stop ends the worker: its batches are cancelled (a graceful Close has none left), it is
// told to exit, and it is killed if it has not left within grace.
func (w *worker) stop(grace time.Duration) {
	w.e.mu.Lock()
	if w.cause == causeNone {
		w.cause = causeStopped
	}
	var ids []uint64
	for _, b := range w.inflight {
		ids = append(ids, b.id)
	}
	w.e.mu.Unlock()
	// The timer runs from before the write: a worker that does not read its ring (stopped,
	// say) could keep the write waiting for room, and the kill ends that wait.
	t := time.AfterFunc(max(grace, 100*time.Millisecond), func() { w.child.Signal(syscall.SIGKILL) })
	defer t.Stop()
	w.writeMu.Lock()
	for _, id := range ids {
		w.enc.Begin(wire.KindCancel, 0, id)
		w.enc.End()
	}
	w.enc.Begin(wire.KindExit, 0, 0)
	w.enc.End()
	w.enc.WriteTo(&w.child.Rings.Writer)
	w.writeMu.Unlock()
	<-w.child.Done()
}

// step reads and handles one frame; the caller holds the reader's role. At the end of the
// worker's frames (it ended, or sent bad data and was killed) it settles the worker and
// reports true; the role is then never given up.
func (w *worker) step() (ended bool) {
	f, err := w.r.Read()
	if err == nil {
		w.dec.Next(f)
		if err = w.handle(f, w.dec); err == nil {
			return false
		}
		if errors.Is(err, errWorkerGone) {
			err = nil
			w.kill(causeNone)
		}
	} else if !errors.Is(err, wire.ErrProtocol) && !errors.Is(err, io.ErrUnexpectedEOF) {
		// Garbage, or a frame cut short by the end of the ring, are the worker's fault. Other
		// errors (end of file) are how a dying worker's frames end.
		err = nil
	}
	w.e.mu.Lock()
	w.ended = true
	w.e.mu.Unlock()
	// The read loop may be waiting for the role this goroutine holds (a caller's, see
	// Await): it must learn that there is nothing left to read, and end.
	notify(w.wake)
	if err != nil {
		err = fmt.Errorf("worker %d sent bad data: %w", w.child.Pid, err)
		w.kill(causeNone)
	}
	<-w.child.Done()
	w.released()
	w.died(err)
	return true
}

// released tells the memory guard that the worker has been reaped, and learns from it whether
// the limit is what ended the worker.
func (w *worker) released() {
	if w.guard == nil {
		return
	}
	code, sig := w.child.Exit()
	by, _ := w.guard.Exited(context.Background(), memlimit.Death{ExitCode: code, Signal: sig,
		Stderr: w.child.StderrTail()})
	if by {
		w.e.mu.Lock()
		w.byMemory = true
		if w.cause == causeNone || w.cause == causeStopped {
			w.cause = causeMemory
		}
		w.e.mu.Unlock()
	}
}

// batch returns the in-flight batch with id. e.mu is held.
func (w *worker) batch(id uint64) *batch {
	for _, b := range w.inflight {
		if b.id == id {
			return b
		}
	}
	return nil
}

// handle takes one frame about a batch. Results arrive in item order.
func (w *worker) handle(f wire.Frame, dec *wire.Decoder) error {
	defer w.handled()
	e := w.e
	e.mu.Lock()
	b := w.batch(f.ID)
	e.mu.Unlock()
	if b == nil {
		return fmt.Errorf("%w: %v frame for unknown batch %d", wire.ErrProtocol, f.Kind, f.ID)
	}
	at := uint32(b.next - b.lo)
	count := uint32(b.hi - b.lo)
	switch f.Kind {
	case wire.KindOutputs:
		lo, err := dec.Uint32()
		if err != nil {
			return err
		}
		hi, err := dec.Uint32()
		if err != nil {
			return err
		}
		if lo != at || hi < lo || hi > count {
			return fmt.Errorf("%w: outputs %d..%d of a batch at %d of %d", wire.ErrProtocol, lo, hi, at, count)
		}
		if hi > lo {
			if err := b.job.work.DecodeOutputs(dec, b.lo+int(lo), b.lo+int(hi)); err != nil {
				return err
			}
		}
		w.child.SyncOutput()
		w.noteProgress(int(hi - lo))
		e.finishRange(b, b.lo+int(hi), b.job.canceled())
		if f.Flags&wire.FlagLast != 0 {
			w.last(b)
		}
	case wire.KindFailure:
		i, err := dec.Uint32()
		if err != nil {
			return err
		}
		if i != at || i >= count {
			return fmt.Errorf("%w: failure of item %d of a batch at %d of %d", wire.ErrProtocol, i, at, count)
		}
		var we wire.Error
		if err := dec.Value(&we); err != nil {
			return err
		}
		w.child.SyncOutput()
		w.noteProgress(1)
		err = b.job.canceled() // a cancelled job's items end with the reason it was cancelled
		if err == nil {
			err = e.cfg.Remote(we)
		}
		e.finishRange(b, b.next+1, err)
	default:
		return fmt.Errorf("%w: unexpected %v frame from a worker", wire.ErrProtocol, f.Kind)
	}
	return nil
}

// last settles a batch the worker is done with: items it did not run were cancelled.
func (w *worker) last(b *batch) {
	e := w.e
	if b.next < b.hi {
		err := b.job.canceled()
		if err == nil {
			err = e.closedErr()
		}
		e.finishRange(b, b.hi, err)
	}
	overMemory := false
	if e.cfg.MaxMemory > 0 {
		rss, err := memlimit.RSS(w.child.Pid)
		overMemory = err == nil && rss > e.cfg.MaxMemory
	}
	e.mu.Lock()
	w.removeInflight(b)
	if len(w.inflight) == 0 {
		w.busySince.Store(0)
	}
	if overMemory {
		e.retire(w, "max memory")
	}
	leave := w.retiring && len(w.inflight) == 0 && !w.dead
	e.updateIdle()
	e.loadChanged()
	pump := !w.sending && !w.dead && e.queue.len() > 0
	if pump {
		w.sending = true
	}
	e.mu.Unlock()
	if leave {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			w.stop(e.cfg.Grace)
		}()
	}
	if pump {
		w.pump()
	}
}

// initialize runs the initializer on a new worker before it takes any task.
func (w *worker) initialize() error {
	e := w.e
	init := &initWork{Work: e.cfg.Init()}
	j := &Job{e: e, work: init, internal: true}
	b := &batch{job: j, lo: 0, hi: 1, next: 0, attempt: 1}
	e.mu.Lock()
	e.nextID++
	b.id = e.nextID
	w.inflight = []*batch{b}
	w.sending = true // nobody pumps work to w until it is initialized
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		w.inflight, w.sending = nil, false
		e.mu.Unlock()
	}()
	w.send([]*batch{b})
	late := w.killAfter(initTimeout)
	defer late()
	for !init.finished {
		f, err := w.r.Read()
		if err != nil {
			if late() {
				return fmt.Errorf("initializer did not finish within %v", initTimeout)
			}
			return fmt.Errorf("worker ended while it ran the initializer: %w", err)
		}
		w.dec.Next(f)
		if err := w.handle(f, w.dec); err != nil {
			return err
		}
	}
	if init.err != nil {
		return &InitError{Err: init.err}
	}
	return nil
}

// initTimeout bounds an initializer.
const initTimeout = 5 * time.Minute

// InitError is the failure of a worker's initializer.
type InitError struct{ Err error }

func (e *InitError) Error() string { return "initializer failed: " + e.Err.Error() }
func (e *InitError) Unwrap() error { return e.Err }

// initWork notes when the initializer has finished.
type initWork struct {
	Work
	finished bool
	err      error
}

func (w *initWork) Finish(lo, hi int, err error) {
	w.finished, w.err = true, err
	w.Work.Finish(lo, hi, err)
}
