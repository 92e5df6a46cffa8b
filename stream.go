package multiproc

import (
	"context"
	"iter"
	"sync"

	"github.com/multiproc/multiproc/internal/wire"
)

// Imap applies f to the inputs on the workers of p and yields the outputs in input order
// (Python's Pool.imap). It reads inputs only a bounded distance ahead of the consumer, so an
// endless input works in bounded memory. A failed item yields its error (a *TaskError) at its
// position and the stream goes on; breaking out of the loop stops the stream, and the pool is
// free for other work at once. Cancelling ctx stops the tasks and yields ctx.Err() once.
//
// A panic inside inputs is raised again in the goroutine ranging over the results, after the
// results of the inputs before it.
func Imap[In, Out any](ctx context.Context, p *Pool, f *Func[In, Out], inputs iter.Seq[In], opts ...MapOption) iter.Seq2[Out, error] {
	return func(yield func(Out, error) bool) {
		for r := range runStream(ctx, p, f, inputs, opts, true) {
			if !yield(r.Value, r.Err) {
				return
			}
		}
	}
}

// ImapUnordered is Imap yielding results as they complete (Python's imap_unordered); Index is
// the input's position.
func ImapUnordered[In, Out any](ctx context.Context, p *Pool, f *Func[In, Out], inputs iter.Seq[In], opts ...MapOption) iter.Seq[Result[Out]] {
	return runStream(ctx, p, f, inputs, opts, false)
}

// Result is one outcome of ImapUnordered.
type Result[Out any] struct {
	Index int // the input's position
	Value Out
	Err   error
}

func runStream[In, Out any](ctx context.Context, p *Pool, f *Func[In, Out], inputs iter.Seq[In], opts []MapOption, ordered bool) iter.Seq[Result[Out]] {
	return func(yield func(Result[Out]) bool) {
		s, err := startStream(ctx, p, f, inputs, opts)
		if err != nil {
			yield(Result[Out]{Index: -1, Err: err})
			return
		}
		defer s.stop()
		s.consume(ordered, yield)
	}
}

// stream is one Imap or ImapUnordered in progress. A producer goroutine reads inputs into a
// ring of window slots and submits them in batches; the consumer yields results and frees
// slots. The window bounds how far the producer reads ahead of the consumer.
type stream[In, Out any] struct {
	ctx     context.Context
	cancel  context.CancelFunc
	f       *Func[In, Out]
	backend backend
	job     job
	bar     *bar
	chunk   int // fixed chunk size, or 0 for adaptive
	window  int

	ins   []In  // ring of window slots: item i lives in slot i%window
	outs  []Out // ring of window slots
	errs  []error
	ended chan int // indexes of finished items

	mu      sync.Mutex
	slotted sync.Cond // signalled when a slot is freed or the consumer stops
	busy    []bool    // the slot holds an item not yet yielded
	quit    bool      // the consumer has stopped

	inputDone chan struct{} // closed when the producer has read all it will
	total     int           // inputs read; valid after inputDone
	panicked  bool          // inputs panicked; valid after inputDone
	panicVal  any
}

// streamWindow is how many inputs a stream reads ahead of the consumer at most (or 64 per
// worker, if that is more): enough for the workers' queues to stay full, bounded so that an
// endless input works in bounded memory.
const streamWindow = 1024

func startStream[In, Out any](ctx context.Context, p *Pool, f *Func[In, Out], inputs iter.Seq[In], opts []MapOption) (*stream[In, Out], error) {
	mc, err := newMapConfig(opts)
	if err != nil {
		return nil, err
	}
	if err := checkCall(p, f); err != nil {
		return nil, err
	}
	window := max(streamWindow, 64*p.size)
	if mc.chunkSize > 0 {
		window = max(window, 4*p.size*mc.chunkSize)
	}
	s := &stream[In, Out]{f: f, backend: p.backend, chunk: mc.chunkSize, window: window,
		ins: make([]In, window), outs: make([]Out, window), errs: make([]error, window),
		busy: make([]bool, window), ended: make(chan int, window), inputDone: make(chan struct{})}
	s.slotted.L = &s.mu
	s.ctx, s.cancel = context.WithCancel(ctx)
	if s.job, err = p.backend.newJob(s.ctx, s); err != nil {
		s.cancel()
		return nil, err
	}
	s.bar = newBar(mc.progress, -1)
	go s.produce(inputs)
	return s, nil
}

// produce reads inputs while slots are free. It submits a batch when it reaches the chunk
// size or, with adaptive chunks, as soon as a worker is idle; before it waits for a slot it
// submits what it has, so that results can free one. Item i waits for slot i%window itself,
// so that the input never runs more than a window ahead of the oldest item not yet yielded.
func (s *stream[In, Out]) produce(inputs iter.Seq[In]) {
	i, lo := 0, 0
	defer func() {
		if r := recover(); r != nil {
			s.panicked, s.panicVal = true, r
		}
		if lo < i {
			s.job.Submit(lo, i)
		}
		s.total = i
		s.bar.SetTotal(i)
		close(s.inputDone)
	}()
	maxChunk := max(1, s.window/(4*max(1, s.backend.live())))
	for v := range inputs {
		k := i % s.window
		s.mu.Lock()
		if s.busy[k] && lo < i {
			s.mu.Unlock()
			s.job.Submit(lo, i)
			lo = i
			s.mu.Lock()
		}
		for s.busy[k] && !s.quit {
			s.slotted.Wait()
		}
		if s.quit {
			s.mu.Unlock()
			return
		}
		s.busy[k] = true
		s.mu.Unlock()
		s.ins[k] = v
		i++
		n := i - lo
		if (s.chunk > 0 && n >= s.chunk) || (s.chunk == 0 && (n >= maxChunk || s.backend.idle())) {
			s.job.Submit(lo, i)
			lo = i
		}
	}
}

// consume yields results until the inputs are exhausted, the consumer stops, or ctx ends.
func (s *stream[In, Out]) consume(ordered bool, yield func(Result[Out]) bool) {
	done := make([]bool, s.window) // ordered: finished but not yet yielded
	next, yielded := 0, 0
	inputDone := s.inputDone
	for {
		if inputDone == nil && yielded == s.total {
			if s.panicked {
				panic(s.panicVal)
			}
			return
		}
		select {
		case i := <-s.ended:
			if err := s.ctx.Err(); err != nil { // the item may have ended for the cancellation
				yield(Result[Out]{Index: -1, Err: err})
				return
			}
			if !ordered {
				if !s.yield(i, yield) {
					return
				}
				yielded++
				continue
			}
			done[i%s.window] = true
			for done[next%s.window] {
				done[next%s.window] = false
				if !s.yield(next, yield) {
					return
				}
				next++
				yielded++
			}
		case <-inputDone:
			inputDone = nil
		case <-s.ctx.Done():
			yield(Result[Out]{Index: -1, Err: s.ctx.Err()})
			return
		}
	}
}

// yield hands item i to the consumer and frees its slot.
func (s *stream[In, Out]) yield(i int, yield func(Result[Out]) bool) bool {
	k := i % s.window
	r := Result[Out]{Index: i, Value: s.outs[k], Err: s.errs[k]}
	var zeroIn In
	var zeroOut Out
	s.ins[k], s.outs[k], s.errs[k] = zeroIn, zeroOut, nil
	s.mu.Lock()
	s.busy[k] = false
	s.slotted.Signal()
	s.mu.Unlock()
	return yield(r)
}

// stop ends the stream: the producer stops at its next input, unfinished tasks are cancelled.
func (s *stream[In, Out]) stop() {
	s.mu.Lock()
	s.quit = true
	s.slotted.Signal()
	s.mu.Unlock()
	s.cancel()
	s.job.Cancel(context.Canceled)
	s.job.Release()
	s.bar.Finish()
}

func (s *stream[In, Out]) Func() string { return s.f.name }

func (s *stream[In, Out]) EncodeInputs(enc *wire.Encoder, lo, hi int) error {
	return s.f.in.Encode(enc, ringRange(s.ins, lo, hi))
}

func (s *stream[In, Out]) DecodeOutputs(dec *wire.Decoder, lo, hi int) error {
	out := make([]Out, hi-lo)
	if err := s.f.out.Decode(dec, out); err != nil {
		return err
	}
	for k, v := range out {
		s.outs[(lo+k)%len(s.outs)] = v
	}
	return nil
}

func (s *stream[In, Out]) Finish(lo, hi int, err error) {
	s.bar.Add(hi - lo)
	for i := lo; i < hi; i++ {
		if err != nil {
			s.errs[i%s.window] = &TaskError{Index: i, Err: err}
		}
		s.ended <- i
	}
}

// ringRange returns items lo..hi-1 of a ring, copying only when they wrap around.
func ringRange[T any](ring []T, lo, hi int) []T {
	a, b := lo%len(ring), hi%len(ring)
	if b == 0 {
		b = len(ring)
	}
	if a < b && hi-lo == b-a {
		return ring[a:b]
	}
	out := make([]T, 0, hi-lo)
	for i := lo; i < hi; i++ {
		out = append(out, ring[i%len(ring)])
	}
	return out
}
