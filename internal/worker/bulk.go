package worker

import (
	"fmt"
	"time"
	"unsafe"

	"github.com/multiproc/multiproc/internal/peermem"
	"github.com/multiproc/multiproc/internal/wire"
)

// The worker's side of large values that travel outside the frames (see peermem): buffers
// offered for inputs, and outputs lent until the parent has read them.

// inbox offers the parent buffers to copy large inputs into, and hands one over when a batch
// names it. It is the reader's decoder's Fetcher: one goroutine uses it at a time.
type inbox struct {
	table peermem.Shared
	bufs  [peermem.Slots][]byte // the buffers offered or claimed, kept reachable here
	want  int                   // the size to offer: the last large input's
	last  time.Time             // when the last large input came
	// budget bounds the bytes offered at once, under a memory limit: an offer is memory the
	// next input would take anyway, but offers for several inputs ahead must not be what
	// pushes a worker over its limit.
	budget int64
}

// newInbox returns the inbox of a worker whose Go memory limit is gcLimit (math.MaxInt64 for
// none): it offers at most an eighth of that.
func newInbox(table peermem.Shared, gcLimit int64) *inbox {
	return &inbox{table: table, budget: gcLimit / 8}
}

// keepOffers is how long buffers stay offered after the last large input: an idle worker
// gives their memory back.
const keepOffers = 2 * time.Second

// Fetch hands over the buffer of slot ref, which the parent has filled with n bytes.
func (b *inbox) Fetch(ref uint64, n int) ([]byte, error) {
	if ref >= peermem.Slots || b.bufs[ref] == nil || !b.table.IsClaimed(int(ref)) || n > len(b.bufs[ref]) {
		return nil, fmt.Errorf("%w: input buffer %d was not filled with %d bytes", wire.ErrProtocol, ref, n)
	}
	buf := b.bufs[ref][:n:n]
	b.bufs[ref] = nil
	b.table.Free(int(ref))
	b.want, b.last = n, time.Now()
	return buf, nil
}

// Inline learns the size of a large input that came in its frame: none of the buffers
// offered was there, or large enough.
func (b *inbox) Inline(n int) { b.want, b.last = n, time.Now() }

// tidy refills the offers after large inputs, and withdraws them once none has come for
// keepOffers.
func (b *inbox) tidy() {
	if b.want == 0 {
		return
	}
	if time.Since(b.last) < keepOffers {
		b.refill()
		return
	}
	for i := range b.bufs {
		if b.bufs[i] != nil && b.table.Withdraw(i) {
			b.bufs[i] = nil
		}
	}
	b.want = 0
}

// refill offers a buffer of the size of the last large input in every slot that has none,
// and replaces an offered one that is too small for it or twice too large. Its pages are
// made resident here, where the worker has nothing else to do, rather than by the parent's
// copy, which serves every worker.
func (b *inbox) refill() {
	if b.want == 0 {
		return
	}
	var offered int64
	for i := range b.bufs {
		if have := len(b.bufs[i]); have > 0 {
			if (have >= b.want && have <= 2*b.want) || !b.table.Withdraw(i) {
				offered += int64(have)
				continue
			}
			b.bufs[i] = nil
		}
		if !b.table.IsFree(i) {
			continue // claimed for a frame not read yet
		}
		if offered > 0 && offered+int64(b.want) > b.budget {
			return // one offer is always made: the next input needs its memory anyway
		}
		offered += int64(b.want)
		buf := wire.Unzeroed(b.want)
		wire.Prefault(buf)
		b.bufs[i] = buf
		b.table.Offer(i, address(buf), len(buf))
	}
}

// lender lends large outputs to the parent, which reads them from where they are. It is the
// encoder's Sharer: guarded by the server's encMu.
type lender struct {
	table  peermem.Shared
	lent   []loan // in the order of their frames
	unsent bool   // a frame lending an output has not been written yet
}

type loan struct {
	frame uint64
	b     []byte
}

// Share lends b, named in frame, once the parent has said it can read this process.
func (l *lender) Share(b []byte, frame uint64) (uint64, bool) {
	if !l.table.Enabled() {
		return 0, false
	}
	l.lent = append(l.lent, loan{frame, b})
	l.unsent = true
	return address(b), true
}

// Unshare forgets the loan of a dropped frame.
func (l *lender) Unshare(ref uint64) {
	for i := len(l.lent) - 1; i >= 0; i-- {
		if address(l.lent[i].b) == ref {
			l.lent = append(l.lent[:i], l.lent[i+1:]...)
			return
		}
	}
}

// release lets go of the outputs lent in frames the parent has handled.
func (l *lender) release() {
	if len(l.lent) == 0 {
		return
	}
	handled := l.table.Handled()
	n := 0
	for n < len(l.lent) && l.lent[n].frame < handled {
		n++
	}
	if n > 0 {
		clear(l.lent[:n])
		l.lent = append(l.lent[:0], l.lent[n:]...)
	}
}

func address(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }
