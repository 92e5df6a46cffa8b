package worker

import (
	"fmt"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/multiproc/multiproc/internal/wire"
)

// The worker's side of large values that travel outside the frames (see peermem): buffers
// offered for inputs, and outputs lent until the parent has read them.

// inbox offers the parent buffers to copy large inputs into, and hands one over when a batch
// names it. It is the reader's decoder's Fetcher; the idle timer (see server.giveBack)
// withdraws its offers.
type inbox struct {
	mu    sync.Mutex // the reader's calls against withdraw
	table wire.PeerTable
	bufs  [wire.PeerSlots][]byte // the buffers offered or claimed, kept reachable here
	want  int                    // the size to offer: the last large input's; 0 for none
	// budget bounds the bytes offered at once: offerMax, and under a memory limit an eighth
	// of it. An offer is memory the next input would take anyway, but offers for several
	// inputs ahead must not be what pushes a worker over its limit, nor what an idle worker
	// is made of.
	budget int64
	// large is called when a large input came: the idle timer starts again.
	large func()
}

// offerMax bounds the bytes offered at once, and so the size of an input a buffer is offered
// for: a larger input comes through the rings. Each offer is made resident before it is put
// up, while the reader has nothing to read: 64 MiB of offers take tens of milliseconds to
// fault in, a delay the next input may meet.
const offerMax = 64 << 20

// newInbox returns the inbox of a worker whose Go memory limit is gcLimit (math.MaxInt64 for
// none): it offers at most an eighth of that, and at most offerMax.
func newInbox(table wire.PeerTable, gcLimit int64, large func()) *inbox {
	return &inbox{table: table, budget: min(gcLimit/8, offerMax), large: large}
}

// keepOffers is how long buffers stay offered after the last large input: an idle worker
// gives their memory back.
const keepOffers = 2 * time.Second

// Fetch hands over the buffer of slot ref, which the parent has filled with n bytes.
func (b *inbox) Fetch(ref uint64, n int) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if ref >= wire.PeerSlots || b.bufs[ref] == nil || !b.table.IsClaimed(int(ref)) || n > len(b.bufs[ref]) {
		return nil, fmt.Errorf("%w: input buffer %d was not filled with %d bytes", wire.ErrProtocol, ref, n)
	}
	buf := b.bufs[ref][:n:n]
	b.bufs[ref] = nil
	b.table.Free(int(ref))
	b.saw(n)
	return buf, nil
}

// Inline learns the size of a large input that came in its frame: none of the buffers
// offered was there, or large enough.
func (b *inbox) Inline(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.saw(n)
}

// saw learns of a large input of n bytes. b.mu is held.
func (b *inbox) saw(n int) {
	b.want = n
	if b.large != nil {
		b.large()
	}
}

// refill offers a buffer of the size of the last large input in every slot that has none,
// within the budget, and replaces an offered one that is too small for it or twice too
// large. One buffer is offered whatever the budget, unless the input was over offerMax. Its
// pages are made resident here, where the worker has nothing else to do, rather than by the
// parent's copy, which serves every worker.
func (b *inbox) refill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.want == 0 || b.want > offerMax {
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
		buf := wire.NewBuffer(b.want)
		b.bufs[i] = buf
		b.table.Offer(i, address(buf), len(buf))
	}
}

// withdraw takes back the buffers offered and not claimed, and offers no more until the next
// large input. A claimed one stays: the parent is filling it for a frame on its way.
func (b *inbox) withdraw() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := range b.bufs {
		if b.bufs[i] != nil && b.table.Withdraw(i) {
			b.bufs[i] = nil
		}
	}
	b.want = 0
}

// lender lends large outputs to the parent, which reads them from where they are. It is the
// encoder's Sharer: guarded by the server's encMu.
type lender struct {
	table  wire.PeerTable
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

// lending reports whether an output is still lent.
func (l *lender) lending() bool { return len(l.lent) > 0 }

// Unshare forgets the loan of a dropped frame.
func (l *lender) Unshare(ref uint64) {
	for i := len(l.lent) - 1; i >= 0; i-- {
		if address(l.lent[i].b) == ref {
			l.lent = slices.Delete(l.lent, i, i+1) // clears the freed slot: no stale loan
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
	l.lent = slices.Delete(l.lent, 0, n)
}

func address(b []byte) uint64 { return uint64(uintptr(unsafe.Pointer(unsafe.SliceData(b)))) }
