package wire

import (
	"sync/atomic"
	"unsafe"
)

// StatusSize is the size of the status page a worker shares with its parent.
const StatusSize = 4096

// Status is a page of memory shared by a worker and its parent, through which the worker
// says which item it is running without a message: two stores per item instead of a syscall.
// After a worker dies the parent reads it to learn which item killed it; while it lives, the
// parent watches it to time items out (it times an item from when it first sees it, so that
// the worker need not read a clock per item).
type Status struct{ words *[3]uint64 }

const (
	slotBatch = iota // id of the batch being run
	slotItem         // 1 + the index of the running item within its batch; 0 between items
	slotTaken        // id of the last batch whose frame the worker has read
)

// NewStatus wraps a mapped page of at least StatusSize bytes.
func NewStatus(page []byte) Status {
	if len(page) < StatusSize {
		panic("wire: status page too small")
	}
	return Status{words: (*[3]uint64)(unsafe.Pointer(&page[0]))}
}

// Begin records that item of batch is running.
func (s Status) Begin(batch uint64, item int) {
	atomic.StoreUint64(&s.words[slotItem], 0)
	atomic.StoreUint64(&s.words[slotBatch], batch)
	atomic.StoreUint64(&s.words[slotItem], uint64(item)+1)
}

// Take records that the worker has read the frame of batch: a worker that dies before it
// took a batch did not die of it.
func (s Status) Take(batch uint64) { atomic.StoreUint64(&s.words[slotTaken], batch) }

// Taken returns the id of the last batch the worker took.
func (s Status) Taken() uint64 { return atomic.LoadUint64(&s.words[slotTaken]) }

// End records that the item has finished.
func (s Status) End() { atomic.StoreUint64(&s.words[slotItem], 0) }

// Current reports the running item, if any. Read while the worker runs, batch and item may
// come from two items in a row; read after it has ended, they are exact.
func (s Status) Current() (batch uint64, item int, running bool) {
	i := atomic.LoadUint64(&s.words[slotItem])
	if i == 0 {
		return 0, 0, false
	}
	return atomic.LoadUint64(&s.words[slotBatch]), int(i - 1), true
}

// peerTableAt is where the peer table starts in the status page, after the status words.
const peerTableAt = 2048

// PeerTableIn returns the peer table in a mapped status page.
func PeerTableIn(page []byte) PeerTable { return NewPeerTable(page[peerTableAt:]) }
