// Package worker is the loop a worker process runs. Main sets it up from what the parent
// passed (internal/spawn: environment, status page, rings, control socket); the loop says
// hello to its parent, then runs the batches it is sent, one item at a time, and reports each
// item's output or failure (frames of internal/wire).
//
// Two goroutines share the work. The reader decodes frames in order (the gob stream is
// sequential) and queues decoded batches; the runner runs them and is the only writer, with
// blocking writes on its own thread. Outputs of quick items are sent together; which item is
// running is stored in the status page, so that a death is blamed on the right item without a
// message per item.
package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/multiproc/multiproc/internal/peermem"
	"github.com/multiproc/multiproc/internal/ring"
	"github.com/multiproc/multiproc/internal/wire"
)

// Handler decodes the inputs of batches for one registered function.
type Handler interface {
	DecodeBatch(dec *wire.Decoder, count int) (Batch, error)
}

// Batch is a decoded batch: it runs its items and encodes their outputs.
type Batch interface {
	Run(ctx context.Context, i int) error
	EncodeOutputs(enc *wire.Encoder, lo, hi int) error
}

// Config is what the worker loop needs from the root package.
type Config struct {
	Lookup func(name string) (Handler, bool)
	// Describe turns a task's error into its form on the wire.
	Describe func(err error) wire.Error
	// NotRegistered and Timeout are the errors for a missing function and an expired item.
	NotRegistered func(name string) error
	Timeout       func(d time.Duration) error
	// Started, if set, is told the worker's name before it serves.
	Started func(name string)
}

// links are what connects a worker to its parent, set up by Main.
type links struct {
	conn     *os.File   // the control socket: its end of file means the parent is gone
	rings    *ring.Conn // frames from and to the parent
	status   wire.Status
	peer     wire.PeerTable // the table through which large values travel outside frames
	identity string
}

// flushEvery bounds how long finished outputs wait before they are sent.
const flushEvery = 2 * time.Millisecond

type queued struct {
	stopped atomic.Bool // a Cancel came for it
	id      uint64
	head    wire.BatchHeader
	batch   Batch
	err     error // every item fails with it (function missing, inputs undecodable)
	ctx     context.Context
	cancel  context.CancelFunc
}

type server struct {
	cfg       Config
	links     links
	encMu     sync.Mutex    // guards enc, lastFlush and the outputs sent of the running batch
	enc       *wire.Encoder // the runner's, and the flusher's while a long batch runs
	lastFlush time.Time
	current   atomic.Pointer[batchRun] // the batch being run, for the flusher
	r         *wire.Reader             // the reader's
	dec       *wire.Decoder            // the reader's
	inbox     *inbox                   // the reader's: its decoder's buffers for large inputs
	lender    *lender                  // guarded by encMu: the encoder's loans of large outputs

	// handoff fires handOff when a batch runs long; handed says it did. They belong to the
	// runner.
	handoff *time.Timer
	handed  atomic.Bool
	// flushTimer runs flushPending when outputs have waited flushEvery; flushArmed says it
	// is set.
	flushTimer *time.Timer
	flushArmed atomic.Bool
	// idleTimer runs giveBack keepOffers after the last large value.
	idleTimer *time.Timer

	mu      sync.Mutex
	pending map[uint64]*queued // queued or running, by id, for Cancel
	queue   []*queued          // decoded, waiting for the runner
	running bool               // a goroutine is the runner
	exiting bool               // Exit came: leave when the queue is empty
}

// attemptKey is the context key of the attempt number.
type attemptKey struct{}

// Attempt returns the attempt number stored in ctx by the worker (1 for a first run), or 0.
func Attempt(ctx context.Context) int {
	n, _ := ctx.Value(attemptKey{}).(int)
	return n
}

// serve runs the worker until its parent says Exit or goes away; then it exits the process.
//
// One goroutine at a time reads frames. The one that reads a batch while none is running runs
// it itself: a batch goes from the ring to its function with no hand-off between threads,
// which would cost a wake-up of a sleeping one on the critical path. Only when the batch runs
// longer than handoffAfter does a new goroutine take over reading, so that Cancel frames and the
// next batches are read while it runs.
func serve(cfg Config, l links) {
	s := &server{cfg: cfg, links: l, enc: wire.NewEncoder(), pending: make(map[uint64]*queued),
		dec: wire.NewDecoder()}
	s.idleTimer = time.AfterFunc(time.Hour, s.giveBack)
	s.idleTimer.Stop()
	s.inbox = newInbox(l.peer, debug.SetMemoryLimit(-1), s.sawLarge)
	s.dec.Fetcher = s.inbox
	s.lender = &lender{table: l.peer}
	s.enc.Sharer = s.lender
	s.handoff = time.AfterFunc(time.Hour, s.handOff)
	s.handoff.Stop()
	s.flushTimer = time.AfterFunc(time.Hour, s.flushPending)
	s.flushTimer.Stop()
	// The socket's end means the parent is gone or has given up on this worker: leave at once.
	l.rings.Listen(l.conn, func() { os.Exit(0) })
	l.rings.Reader.Waiter = &idleWaiter{s: s}
	s.r = wire.NewReader(&l.rings.Reader, 0)
	token, value := peermem.Token()
	if err := wire.EncodeHello(s.enc, wire.Hello{Version: wire.Version, Pid: uint32(os.Getpid()),
		Identity: l.identity, Token: token, TokenValue: value}); err != nil {
		fatal(err)
	}
	s.flush()
	go s.read()
	select {} // the reader and runner goroutines end the process
}

// handoffAfter is how long a batch runs before its goroutine gives up reading to a new one.
const handoffAfter = 50 * time.Microsecond

// idle reports whether no batch is running; if so, it first writes the results kept back,
// as the goroutine that holds the reader's role is then the only one that writes.
func (s *server) idle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running {
		return false
	}
	s.encMu.Lock()
	s.flush()
	s.encMu.Unlock()
	return true
}

func fatal(err error) {
	fmt.Fprintf(os.Stderr, "multiproc worker %d: %v\n", os.Getpid(), err)
	os.Exit(3)
}

// read decodes frames for as long as its goroutine holds the reader's role, or until the
// parent goes away (then the worker exits at once: a worker never outlives its parent's
// interest in it).
func (s *server) read() {
	for {
		f, err := s.r.Read()
		if err != nil {
			os.Exit(0)
		}
		s.dec.Next(f)
		switch f.Kind {
		case wire.KindBatch:
			s.links.status.Take(f.ID)
			q := s.decode(f.ID)
			s.dec.Next(wire.Frame{}) // an idle worker must not keep the batch's payload
			s.mu.Lock()
			s.pending[q.id] = q
			if s.running {
				s.queue = append(s.queue, q)
				s.mu.Unlock()
				continue
			}
			s.running = true
			s.mu.Unlock()
			if !s.runAsReader(q) {
				return
			}
		case wire.KindCancel:
			s.mu.Lock()
			if q := s.pending[f.ID]; q != nil {
				q.stopped.Store(true)
				q.cancel()
			}
			s.mu.Unlock()
		case wire.KindExit:
			s.mu.Lock()
			s.exiting = true
			if !s.running {
				s.encMu.Lock()
				s.flush()
				os.Exit(0)
			}
			s.mu.Unlock()
		default:
			fatal(fmt.Errorf("%w: unexpected %v frame", wire.ErrProtocol, f.Kind))
		}
	}
}

// runAsReader runs q and what gets queued behind it. It reports whether its goroutine still
// holds the reader's role: a batch that runs past handoffAfter hands it to a new goroutine.
func (s *server) runAsReader(q *queued) bool {
	// One timer serves every batch (one runner at a time): arming it costs no allocation.
	s.handed.Store(false)
	s.handoff.Reset(handoffAfter)
	t := s.handoff
	handed := &s.handed
	for {
		s.run(q)
		s.mu.Lock()
		if q = s.popLocked(); q != nil {
			s.mu.Unlock()
			continue
		}
		if t.Stop() {
			// Still the reader: the results go out when no more input is at hand (see idle).
			s.running = false
			s.mu.Unlock()
			return true
		}
		// The reader sleeps until input comes; results must not wait for that.
		s.mu.Unlock()
		for !handed.Load() {
			runtime.Gosched() // the timer fired; its function is about to start the reader
		}
		s.encMu.Lock()
		s.flush()
		s.encMu.Unlock()
		s.mu.Lock()
		if q = s.popLocked(); q != nil {
			s.mu.Unlock()
			continue
		}
		s.running = false
		exiting := s.exiting
		s.mu.Unlock()
		if exiting {
			os.Exit(0)
		}
		return false
	}
}

// handOff gives the reader's role to a new goroutine when a batch has run for handoffAfter.
func (s *server) handOff() {
	s.handed.Store(true)
	go s.read()
}

// popLocked takes the next queued batch, or returns nil. s.mu is held.
func (s *server) popLocked() *queued {
	if len(s.queue) == 0 {
		return nil
	}
	q := s.queue[0]
	s.queue[0] = nil
	s.queue = s.queue[1:]
	return q
}

// decode reads a batch frame.
func (s *server) decode(id uint64) *queued {
	dec := s.dec
	head, err := wire.DecodeBatchHeader(dec)
	if err != nil {
		fatal(err)
	}
	q := &queued{id: id, head: head}
	q.ctx, q.cancel = context.WithCancel(context.WithValue(context.Background(), attemptKey{}, int(head.Attempt)))
	if h, ok := s.cfg.Lookup(head.Func); !ok {
		q.err = s.cfg.NotRegistered(head.Func)
		// Reading the inputs into nothing keeps the gob stream in step: type descriptions
		// they carry are still learnt.
		if err := dec.Skip(); err != nil {
			fatal(err)
		}
	} else if q.batch, err = h.DecodeBatch(dec, int(head.Count)); err != nil {
		if errors.Is(err, wire.ErrProtocol) {
			fatal(err)
		}
		q.err = err
	}
	return q
}

// run runs the items of one batch in order.
func (s *server) run(q *queued) {
	defer func() {
		s.mu.Lock()
		delete(s.pending, q.id)
		s.mu.Unlock()
		q.cancel()
	}()
	count := int(q.head.Count)
	if q.err != nil {
		s.encMu.Lock()
		for i := range count {
			s.fail(q.id, i, s.cfg.Describe(q.err))
		}
		s.encMu.Unlock()
		s.finish(&batchRun{q: q, lo: count, i: count})
		return
	}
	r := &batchRun{q: q, checkEvery: 1}
	s.current.Store(r)
	for r.i < count && !r.cancelled {
		s.runFrom(r)
	}
	s.finish(r)
	s.current.Store(nil)
}

// batchRun is the progress of run through a batch.
type batchRun struct {
	q          *queued
	i          int          // the item running, or next to run
	done       atomic.Int64 // items finished, their outputs stored: read by the flusher
	lo         int          // the first item whose output is not sent yet; guarded by encMu
	cancelled  bool         // the batch was cancelled before item i
	cancelItem context.CancelFunc

	checkEvery int // items between looks at the clock (see runFrom)
	sinceCheck int
	lastCheck  time.Time
}

// runFrom runs items from r.i on until the batch ends, is cancelled, or an item panics. One
// deferred recover serves the items up to a panic, which becomes that item's failure; run then
// calls runFrom again for the next item. The clock is read after every item while items are
// slow, and every few items (up to 64) while they are quick, to send the outputs done so far
// every flushEvery without paying for a clock read per quick item.
func (s *server) runFrom(r *batchRun) {
	q := r.q
	defer func() {
		if p := recover(); p != nil {
			s.links.status.End()
			if r.cancelItem != nil {
				r.cancelItem()
				r.cancelItem = nil
			}
			s.failItem(r, wire.Error{Type: fmt.Sprintf("%T", p), Message: fmt.Sprint(p), Panic: true,
				Stack: string(debug.Stack())})
			r.done.Store(int64(r.i + 1))
			r.i++
		}
	}()
	count := int(q.head.Count)
	timeout := time.Duration(q.head.Timeout)
	for ; r.i < count; r.i++ {
		if q.stopped.Load() {
			r.cancelled = true
			return
		}
		ctx := q.ctx
		if timeout > 0 {
			ctx, r.cancelItem = context.WithTimeout(ctx, timeout)
		}
		s.links.status.Begin(q.id, r.i)
		err := q.batch.Run(ctx, r.i)
		s.links.status.End()
		if err != nil {
			if timeout > 0 && errors.Is(ctx.Err(), context.DeadlineExceeded) && q.ctx.Err() == nil {
				err = s.cfg.Timeout(timeout)
			}
			s.failItem(r, s.cfg.Describe(err))
		}
		if r.cancelItem != nil {
			r.cancelItem()
			r.cancelItem = nil
		}
		r.done.Store(int64(r.i + 1))
		if r.i+1 < count {
			s.flushLater() // in case the next item runs long
		}
		if r.sinceCheck++; r.sinceCheck >= r.checkEvery && r.i+1 < count {
			s.checkFlush(r)
		}
	}
}

// checkFlush sends the outputs done so far when flushEvery has passed since the last write,
// and adapts how often it is called.
func (s *server) checkFlush(r *batchRun) {
	now := time.Now()
	if now.Sub(r.lastCheck) < flushEvery/100 {
		r.checkEvery = min(2*r.checkEvery, 64)
	} else {
		r.checkEvery = 1
	}
	r.sinceCheck, r.lastCheck = 0, now
	s.encMu.Lock()
	if now.Sub(s.lastFlush) >= flushEvery {
		s.sendOutputs(r.q, r.lo, r.i+1, 0)
		r.lo = r.i + 1
		s.flush()
	}
	s.encMu.Unlock()
}

// failItem sends the outputs before item r.i, then its failure.
func (s *server) failItem(r *batchRun, werr wire.Error) {
	s.encMu.Lock()
	defer s.encMu.Unlock()
	s.sendOutputs(r.q, r.lo, r.i, 0)
	s.fail(r.q.id, r.i, werr)
	r.lo = r.i + 1
}

// flushLater has flushPending run in flushEvery, unless it is set to already. The outputs of
// finished items must not wait behind an item that runs long (a quick item followed by a slow
// one in the same batch, or a batch kept back and then a slow one). A timer is set only
// while some output may wait, rather than ticking all along: a tick wakes a thread, which on
// a machine whose CPUs all run tasks takes one of them from a task.
func (s *server) flushLater() {
	if !s.flushArmed.Load() && s.flushArmed.CompareAndSwap(false, true) {
		s.flushTimer.Reset(flushEvery)
	}
}

// flushPending sends the outputs the running batch has finished, and writes the frames kept
// back if the last write was flushEvery ago (else it looks again later).
func (s *server) flushPending() {
	s.encMu.Lock()
	defer s.encMu.Unlock()
	s.flushArmed.Store(false)
	if r := s.current.Load(); r != nil {
		if done := int(r.done.Load()); done > r.lo {
			s.sendOutputs(r.q, r.lo, done, 0)
			r.lo = done
		}
	}
	if s.enc.Len() > 0 {
		if time.Since(s.lastFlush) >= flushEvery {
			s.flush()
		} else {
			s.flushLater()
		}
	}
}

// finish sends the outputs lo..hi-1 as the batch's last frame. The frames wait for the next
// batches' results, up to flushEvery, while more input is at hand, so that a stream of small
// batches costs one write for many; they go out when the worker runs out of input (see idle
// and runAsReader). Frames holding large values by reference (wire.RefMin), or lending them
// to the parent, go at once: the function that made a value may change it when it runs again,
// and a large value is worth a write of its own.
func (s *server) finish(r *batchRun) {
	s.encMu.Lock()
	defer s.encMu.Unlock()
	s.sendOutputs(r.q, r.lo, r.i, wire.FlagLast)
	r.lo = r.i
	if s.enc.Len() >= maxPending || s.lender.unsent || time.Since(s.lastFlush) >= flushEvery {
		s.flush()
	} else if s.enc.Len() > 0 {
		s.flushLater() // in case the next batch runs long
	}
}

// maxPending bounds the frames kept back for one write. At wire.RefMin, a frame that holds a
// value by reference is always written before the next item runs.
const maxPending = wire.RefMin

func (s *server) sendOutputs(q *queued, lo, hi int, flags uint8) {
	if lo == hi && flags == 0 {
		return
	}
	wire.BeginOutputs(s.enc, q.id, flags, uint32(lo), uint32(hi))
	var err error
	if lo < hi {
		if err = q.batch.EncodeOutputs(s.enc, lo, hi); err != nil {
			s.enc.Abort()
		}
	}
	if err == nil {
		err = s.enc.End() // drops the frame if it is over the limit
	}
	if err == nil {
		return
	}
	// The outputs cannot travel (one refers to itself, say, or they are too large together):
	// each goes on its own, and one that cannot travel alone fails with the reason.
	if hi-lo == 1 {
		s.fail(q.id, lo, s.cfg.Describe(err))
	} else {
		for i := lo; i < hi; i++ {
			s.sendOutputs(q, i, i+1, 0)
		}
	}
	if flags != 0 {
		s.sendOutputs(q, hi, hi, flags)
	}
}

func (s *server) fail(id uint64, i int, werr wire.Error) {
	if err := wire.EncodeFailure(s.enc, id, uint32(i), werr); err != nil {
		fatal(err)
	}
}

// flush writes the frames built so far with one write, and lets go of the outputs the parent
// has read since.
func (s *server) flush() {
	s.lender.release()
	if s.lender.unsent || s.enc.Len() >= wire.RefMin {
		s.sawLarge()
	}
	s.lender.unsent = false
	if s.enc.Len() == 0 {
		return
	}
	if _, err := s.enc.WriteTo(&s.links.rings.Writer); err != nil {
		os.Exit(0) // the parent is gone
	}
	s.lastFlush = time.Now()
}

// sawLarge notes that a large value came or went: the memory it took is given back once
// none has for keepOffers.
func (s *server) sawLarge() { s.idleTimer.Reset(keepOffers) }

// giveBack withdraws the buffers offered for large inputs and returns to the system the
// memory large values left behind, once none has come or gone for keepOffers and no batch
// runs: without it, an idle worker would keep for ever the largest heap it ever had (the Go
// runtime gives memory back slowly, and only a GC cycle frees it in the first place). It costs
// one collection, in a worker with nothing to do.
func (s *server) giveBack() {
	s.mu.Lock()
	busy := s.running
	s.mu.Unlock()
	s.encMu.Lock()
	s.lender.release()
	lending := s.lender.lending()
	s.encMu.Unlock()
	if busy || lending {
		s.idleTimer.Reset(keepOffers) // its values are still in use: look again later
		return
	}
	s.inbox.withdraw()
	debug.FreeOSMemory()
}
