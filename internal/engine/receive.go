package engine

import (
	"errors"
	"fmt"
	"io"

	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/memlimit"
	"github.com/multiproc/multiproc/internal/wire"
)

// The receiver: the frames a worker sends back (outputs, failures) are handled here by
// whoever holds the reader's role (see reader.go), and items are finished.

// step reads and handles one frame; the caller holds the reader's role. At the end of the
// worker's frames (it ended, or sent bad data and was killed) it settles the worker and
// reports true; the role is then never given up.
func (w *proc) step() (ended bool) {
	f, err := w.r.Read()
	if err == nil {
		w.dec.Next(f)
		err = w.handle(f, w.dec)
		// The decoder lets go of the frame: a large output may be the frame's own bytes, and
		// the caller that dropped it must not find it kept alive by an idle worker's decoder.
		w.dec.Next(wire.Frame{})
		if err == nil {
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

// batch returns the in-flight batch with id. e.mu is held.
func (w *proc) batch(id uint64) *batch {
	for _, b := range w.inflight {
		if b.id == id {
			return b
		}
	}
	return nil
}

// handle takes one frame about a batch. Results arrive in item order.
func (w *proc) handle(f wire.Frame, dec *wire.Decoder) error {
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
		lo, hi, err := wire.DecodeOutputsRange(dec)
		if err != nil {
			return err
		}
		if lo != at || hi > count {
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
		i, we, err := wire.DecodeFailure(dec)
		if err != nil {
			return err
		}
		if i != at || i >= count {
			return fmt.Errorf("%w: failure of item %d of a batch at %d of %d", wire.ErrProtocol, i, at, count)
		}
		w.child.SyncOutput()
		w.noteProgress(1)
		err = b.job.canceled() // a cancelled job's items end with the reason it was cancelled
		if err == nil {
			err = &backend.RemoteError{Err: we}
		}
		e.finishRange(b, b.next+1, err)
	default:
		return fmt.Errorf("%w: unexpected %v frame from a worker", wire.ErrProtocol, f.Kind)
	}
	return nil
}

// last settles a batch the worker is done with: items it did not run were cancelled.
func (w *proc) last(b *batch) {
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
