package engine

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"

	"github.com/multiproc/multiproc/internal/peermem"
	"github.com/multiproc/multiproc/internal/wire"
)

// peerLink moves a worker's large inputs and outputs straight between the two processes'
// memory (see peermem). It is the worker's encoder's Sharer (under writeMu) and its decoder's
// Fetcher (used by the holder of the reader's role).
type peerLink struct {
	pid    int
	table  peermem.Shared
	pulled bool // the frame being handled had an output read from the worker
	moved  *atomic.Int64
}

// Share copies an input into a buffer the worker offers, and names the buffer's slot.
func (p *peerLink) Share(b []byte, _ uint64) (uint64, bool) {
	slot, addr, ok := p.table.Claim(len(b))
	if !ok {
		return 0, false
	}
	if err := peermem.Write(p.pid, addr, b); err != nil {
		p.table.Unclaim(slot) // the worker has died, or its buffer is not where it said
		return 0, false
	}
	p.moved.Add(int64(len(b)))
	return uint64(slot), true
}

// Unshare gives back the slot of an input whose frame was dropped.
func (p *peerLink) Unshare(ref uint64) { p.table.Unclaim(int(ref)) }

// Fetch reads an output of n bytes the worker lent at addr. A worker that names memory it does
// not have costs an error, not an allocation of what it claims: the last byte is read first.
func (p *peerLink) Fetch(addr uint64, n int) ([]byte, error) {
	if n > wire.MaxFrame {
		return nil, fmt.Errorf("%w: a lent output of %d bytes is over the limit of %d", wire.ErrProtocol, n, wire.MaxFrame)
	}
	var last [1]byte
	if err := peermem.Read(p.pid, last[:], addr+uint64(n)-1); err != nil {
		return nil, p.readErr(err)
	}
	b := wire.NewBuffer(n)
	if err := peermem.Read(p.pid, b, addr); err != nil {
		return nil, p.readErr(err)
	}
	p.pulled = true
	p.moved.Add(int64(n))
	return b, nil
}

// readErr is the error of a failed read of the worker's memory: it has ended, or it named
// memory it does not have.
func (p *peerLink) readErr(err error) error {
	if errors.Is(err, syscall.ESRCH) {
		return errWorkerGone
	}
	return fmt.Errorf("%w: %v", wire.ErrProtocol, err)
}

// errWorkerGone says that an output could not be read because the worker has ended: its
// frames end there, as if it had died before writing them.
var errWorkerGone = errors.New("the worker ended before its output was read")

// Inline is told of a large output that came in its frame.
func (p *peerLink) Inline(int) {}

// link sets up the peerLink to a worker whose hello named token, if the parent can reach
// its memory.
func (w *worker) link(h wire.Hello) {
	if w.e.cfg.RingsOnly || !peermem.Probe(w.child.Pid, h.Token, h.TokenValue) {
		return
	}
	w.peer = &peerLink{pid: w.child.Pid, table: w.child.Peer, moved: &w.e.sharedBytes}
	w.enc.Sharer = w.peer
	w.dec.Fetcher = w.peer
	w.peer.table.Enable()
}

// handled tells the worker, after a frame that lent it outputs, that it may let them go.
func (w *worker) handled() {
	if w.peer != nil && w.peer.pulled {
		w.peer.pulled = false
		w.peer.table.SetHandled(w.r.Frames())
	}
}
