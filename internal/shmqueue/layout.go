// Package shmqueue is a FIFO of byte strings in memory shared by processes, and a two-way
// pipe made of two of them: the mechanics under multiproc.Queue and multiproc.Conn.
//
// # Layout
//
// A queue's memory is a header page followed by a ring of ringSize bytes (a power of two).
// The ring holds records, each an 8-byte header (payload length, flags) and the payload,
// padded to 8 bytes; a payload may wrap around the end of the ring. An item is one record
// (flagFirst|flagLast), or, when it is larger than half the ring, a run of chunks
// (flagFirst, ..., flagLast) whose first payload begins with the item's total length, so
// that an item larger than the ring streams through it while a consumer reads it.
//
// head and tail each pack, in one word, a position in the ring's byte stream (posBits, mod
// 2^posBits) and a count of items (the rest, mod 2^countBits): head counts items published
// (at their last record), tail items taken (or skipped). Publishing a record and counting
// its item is therefore one store, which a process killed at any instant either made or not.
//
// # Invariants
//
//   - putLock and getLock are mutexes held by processes (internal/shmsync): a process that
//     dies holding one is found dead by the next locker, who takes it over.
//   - Producers hold putLock while they write records and publish head; consumers hold
//     getLock while they read records and publish tail. A producer may take putLock while
//     holding getLock (a consumer cleaning up after a dead producer), never the reverse.
//   - Bytes between tail and head are published records; a producer writes only past head, a
//     consumer reads only before it.
//   - putOpen is 1 while the holder of putLock has published some chunks of an item but not
//     its last. Chunks keep reserve bytes of the ring free, so that whoever takes putLock
//     from a dead holder with putOpen set can always end the item with an abort record.
//   - A consumer reads an item's chunks ahead of the tail, and moves the tail past them when
//     it has read the item, or when the producer waits for room (putStarved): from then on
//     past every chunk. A consumer that finds a chunk that does not begin an item, outside an
//     item, skips it: the item's beginning was taken by a consumer that died.
//   - A waiter counts itself in sleepers before it looks at what it waits for, and a waker
//     looks at sleepers after it has published: one of them sees the other. A waker that
//     finds sleepers sets the count to 0 and wakes them all (see wait.go).
package shmqueue

import (
	"sync/atomic"
	"unsafe"

	"github.com/multiproc/multiproc/internal/shmsync"
)

// HeaderSize is the room the header takes before the ring: a page, so the ring is aligned.
const HeaderSize = 4096

const (
	magic = 0x31657565755f706d // "mp_queue1" as a little-endian word, cut to 8 bytes

	recHeader = 8 // bytes of a record's header
	reserve   = 8 // room chunks leave free for an abort record

	posBits   = 36
	posMask   = 1<<posBits - 1
	countBits = 64 - posBits
	countMask = 1<<countBits - 1
)

// MaxCapacity is the largest capacity a queue may have: counts of items wrap at 2^countBits.
const MaxCapacity = countMask

// MinRing and MaxRing bound the size of a ring.
const (
	MinRing = 64 << 10
	MaxRing = 1 << 30
)

// The flags of a record.
const (
	flagFirst = 1 << iota // the record begins an item
	flagLast              // the record ends an item
	flagAbort             // the item whose chunks came before ends here, unfinished
)

// header is the shared state of one queue, at the start of its memory. Fields written by
// different sides sit on cache lines of their own.
type header struct {
	magic    uint64
	ringSize uint64
	capacity uint64
	tag      uint64 // the user's, set by Init: the type of the items, say
	_        [32]byte

	putLock    shmsync.Mutex
	putOpen    atomic.Uint32 // written by the holder of putLock
	putStarved atomic.Uint32 // 1 while the holder of putLock waits for room in an item
	_          [40]byte
	head       atomic.Uint64 // written by the holder of putLock
	_          [56]byte

	getLock shmsync.Mutex
	_       [48]byte
	tail    atomic.Uint64 // written by the holder of getLock
	_       [56]byte

	done   atomic.Uint32 // TaskDone calls, mod 2^countBits
	closed atomic.Uint32 // 1 once closed
	_      [56]byte

	data waitWord // consumers wait here for records
	room waitWord // producers wait here for room
	join waitWord // Join waits here for TaskDone
}

// waitWord is where processes sleep until something changes: seq is bumped by each change
// that a sleeper may wait for, and sleepers says whether anyone needs a wake-up.
type waitWord struct {
	seq      atomic.Uint32
	sleepers atomic.Uint32
	_        [56]byte
}

var _ [HeaderSize - unsafe.Sizeof(header{})]byte // the header fits its page

// word is the futex word of w.
func (w *waitWord) word() *uint32 { return (*uint32)(unsafe.Pointer(&w.seq)) }

func pack(count uint64, pos uint64) uint64 { return count<<posBits | pos&posMask }
func countOf(w uint64) uint64              { return w >> posBits }
func posOf(w uint64) uint64                { return w & posMask }

// used is how many bytes of the ring hold records, from the tail word t to the head word h.
func used(h, t uint64) uint64 { return (posOf(h) - posOf(t)) & posMask }

// items is how many items are between t and h.
func items(h, t uint64) uint64 { return (countOf(h) - countOf(t)) & countMask }

// recordSize is the room a record of n payload bytes takes.
func recordSize(n uint64) uint64 { return (recHeader + n + 7) &^ 7 }

// Size is how many bytes of memory a queue with a ring of ringSize bytes takes.
func Size(ringSize int) int { return HeaderSize + ringSize }
