package wire

import (
	"sync/atomic"
	"unsafe"
)

// StatusSize is the size of the status page a worker shares with its parent.
const StatusSize = 4096

// Status is a page of memory shared by a worker and its parent, through which the worker
// says which item it is running without a message: one store per item instead of a syscall.
// After a worker dies the parent reads it to learn which item killed it, and while it lives
// to learn how long the item has been running.
type Status struct{ words *[4]uint64 }

const (
	slotBatch   = iota // id of the batch being run
	slotItem           // index of the item within its batch
	slotStarted        // when it started, unix nanoseconds
	slotRunning        // 1 while an item runs
)

// NewStatus wraps a mapped page of at least StatusSize bytes.
func NewStatus(page []byte) Status {
	if len(page) < StatusSize {
		panic("wire: status page too small")
	}
	return Status{words: (*[4]uint64)(unsafe.Pointer(&page[0]))}
}

// Begin records that item of batch started at now (unix nanoseconds).
func (s Status) Begin(batch uint64, item int, now int64) {
	atomic.StoreUint64(&s.words[slotRunning], 0)
	atomic.StoreUint64(&s.words[slotBatch], batch)
	atomic.StoreUint64(&s.words[slotItem], uint64(item))
	atomic.StoreUint64(&s.words[slotStarted], uint64(now))
	atomic.StoreUint64(&s.words[slotRunning], 1)
}

// End records that the item has finished.
func (s Status) End() { atomic.StoreUint64(&s.words[slotRunning], 0) }

// Current reports the running item, if any, and when it started.
func (s Status) Current() (batch uint64, item int, started int64, running bool) {
	if atomic.LoadUint64(&s.words[slotRunning]) == 0 {
		return 0, 0, 0, false
	}
	batch = atomic.LoadUint64(&s.words[slotBatch])
	item = int(atomic.LoadUint64(&s.words[slotItem]))
	started = int64(atomic.LoadUint64(&s.words[slotStarted]))
	// A worker that moved on while we read says running again with other values; the values
	// read are then a mix, but only of a live worker, whose readings are advisory.
	return batch, item, started, atomic.LoadUint64(&s.words[slotRunning]) == 1
}
