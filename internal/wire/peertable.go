package wire

import (
	"sync/atomic"
	"unsafe"
)

// PeerSlots is how many input buffers a worker offers at a time: enough for the batches a
// parent keeps in flight to one worker.
const PeerSlots = 4

// peerTableSize is the room the table takes in the status page.
const peerTableSize = int(unsafe.Sizeof(table{}))

// The states of a slot. The worker moves a slot from free to offered and from claimed back
// to free; the parent from offered to claimed (or back, when it cannot use the buffer).
const (
	slotFree uint32 = iota
	slotOffered
	slotClaimed
)

// table is the shared state of the peer table, in memory both processes map. Each field is written by one side
// only, or changed by compare-and-swap, and sits on a cache line of its own.
type table struct {
	// enabled is 1 once the parent has checked that it can reach the worker's memory: only
	// then may the worker lend its outputs.
	enabled atomic.Uint32
	_       [60]byte
	// handled counts the worker's frames the parent has handled: an output lent in an
	// earlier frame has been read, and the worker may let it go.
	handled atomic.Uint64
	_       [56]byte
	slots   [PeerSlots]slot
}

// slot is one input buffer the worker offers: the parent copies an input of at most size
// bytes to addr and names the slot in the batch's frame.
type slot struct {
	state atomic.Uint32
	_     uint32
	addr  atomic.Uint64
	size  atomic.Uint64
	_     [40]byte
}

// PeerTable is a view of the table through which large values travel outside frames
// (internal/peermem), in memory both processes map.
type PeerTable struct{ t *table }

// NewPeerTable places the table at the start of mem, which must hold peerTableSize bytes,
// be 64-byte aligned, and start zeroed (a fresh shared mapping is).
func NewPeerTable(mem []byte) PeerTable {
	if len(mem) < peerTableSize || uintptr(unsafe.Pointer(&mem[0]))%64 != 0 {
		panic("wire: peer table memory too small or misaligned")
	}
	return PeerTable{t: (*table)(unsafe.Pointer(&mem[0]))}
}

// Enable says, from the parent, that the worker may lend its outputs.
func (s PeerTable) Enable() { s.t.enabled.Store(1) }

// Enabled reports, in the worker, whether it may lend its outputs.
func (s PeerTable) Enabled() bool { return s.t.enabled.Load() == 1 }

// SetHandled records, from the parent, that it has handled the worker's first n frames.
func (s PeerTable) SetHandled(n uint64) { s.t.handled.Store(n) }

// Handled returns, in the worker, how many of its frames the parent has handled.
func (s PeerTable) Handled() uint64 { return s.t.handled.Load() }

// Claim takes, for the parent, an offered buffer of at least n bytes. It returns the slot and
// the buffer's address, or ok false when none is offered.
func (s PeerTable) Claim(n int) (i int, addr uint64, ok bool) {
	for i := range s.t.slots {
		sl := &s.t.slots[i]
		if sl.state.Load() != slotOffered || sl.size.Load() < uint64(n) {
			continue
		}
		if !sl.state.CompareAndSwap(slotOffered, slotClaimed) {
			continue
		}
		// Only now is the offer fixed: between the looks above and the swap, the worker may
		// have withdrawn the buffer and offered another in the slot.
		if sl.size.Load() < uint64(n) {
			sl.state.Store(slotOffered)
			continue
		}
		return i, sl.addr.Load(), true
	}
	return 0, 0, false
}

// Unclaim gives back, from the parent, a slot it claimed but will not name in a frame.
func (s PeerTable) Unclaim(i int) { s.t.slots[i].state.Store(slotOffered) }

// Offer puts up, in the worker, a buffer of size bytes at addr in a free slot.
func (s PeerTable) Offer(i int, addr uint64, size int) {
	sl := &s.t.slots[i]
	sl.addr.Store(addr)
	sl.size.Store(uint64(size))
	sl.state.Store(slotOffered)
}

// Withdraw takes back, in the worker, an offered buffer the parent has not claimed. It
// reports whether it did.
func (s PeerTable) Withdraw(i int) bool {
	return s.t.slots[i].state.CompareAndSwap(slotOffered, slotFree)
}

// Free marks, in the worker, a claimed slot whose buffer it has taken.
func (s PeerTable) Free(i int) { s.t.slots[i].state.Store(slotFree) }

// IsFree and IsClaimed report a slot's state, in the worker.
func (s PeerTable) IsFree(i int) bool    { return s.t.slots[i].state.Load() == slotFree }
func (s PeerTable) IsClaimed(i int) bool { return s.t.slots[i].state.Load() == slotClaimed }
