package shmqueue

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"
	"unsafe"

	"github.com/multiproc/multiproc/internal/shmsync"
)

// Errors of the queue's operations; the multiproc package gives them its own names.
var (
	ErrClosed   = errors.New("shmqueue: closed")
	ErrFull     = errors.New("shmqueue: full")
	ErrEmpty    = errors.New("shmqueue: empty")
	ErrTaskDone = errors.New("shmqueue: TaskDone called more times than items were put")
	ErrCorrupt  = errors.New("shmqueue: the queue's memory holds a malformed record")
)

// Queue is one process's handle on a queue in shared memory. Its methods are safe for
// concurrent use by the goroutines of the process, and by any number of processes holding
// handles on the same memory.
type Queue struct {
	h        *header
	ring     []byte
	mask     uint64
	size     uint64 // of the ring
	single   uint64 // the largest record an item may be written as, whole
	capacity uint64

	dataWaiter, roomWaiter, joinWaiter waiter
	chunkWaiter, pieceWaiter           waiter // eager: for the next piece of an item, and room for it

	// PeerGone, if set, is asked now and then by a waiting Put or Get whether the process at
	// the other end is gone; if it is, the queue is closed (see Pipe).
	PeerGone func() bool
	period   time.Duration
}

// Init lays out a new queue in mem, which must be zeroed and Size(ringSize) bytes long; tag
// is the caller's, for Tag to return.
func Init(mem []byte, ringSize, capacity int, tag uint64) error {
	if ringSize < MinRing || ringSize > MaxRing || ringSize&(ringSize-1) != 0 {
		return fmt.Errorf("shmqueue: ring size %d is not a power of two in [%d, %d]", ringSize, MinRing, MaxRing)
	}
	if capacity < 1 || capacity > MaxCapacity {
		return fmt.Errorf("shmqueue: capacity %d is not in [1, %d]", capacity, MaxCapacity)
	}
	if len(mem) != Size(ringSize) {
		return fmt.Errorf("shmqueue: %d bytes of memory for a queue of %d", len(mem), Size(ringSize))
	}
	h := (*header)(unsafe.Pointer(&mem[0]))
	h.ringSize = uint64(ringSize)
	h.capacity = uint64(capacity)
	h.tag = tag
	h.magic = magic
	return nil
}

// Attach returns a handle on the queue that Init laid out in mem.
func Attach(mem []byte) (*Queue, error) {
	if len(mem) < HeaderSize || uintptr(unsafe.Pointer(&mem[0]))%64 != 0 {
		return nil, fmt.Errorf("shmqueue: %d bytes at a bad place hold no queue", len(mem))
	}
	h := (*header)(unsafe.Pointer(&mem[0]))
	size := h.ringSize
	if h.magic != magic || size < MinRing || size > MaxRing || size&(size-1) != 0 ||
		uint64(len(mem)) != HeaderSize+size || h.capacity < 1 || h.capacity > MaxCapacity {
		return nil, errors.New("shmqueue: the memory holds no queue")
	}
	return &Queue{
		h: h, ring: mem[HeaderSize:], mask: size - 1, size: size, single: size / 2,
		capacity: h.capacity, period: sleepMax,
		chunkWaiter: waiter{eager: true}, pieceWaiter: waiter{eager: true},
	}, nil
}

// Tag is the tag given to Init.
func (q *Queue) Tag() uint64 { return q.h.tag }

// Len is the number of items in the queue.
func (q *Queue) Len() int { return int(items(q.h.head.Load(), q.h.tail.Load())) }

// Cap is the capacity the queue was made with.
func (q *Queue) Cap() int { return int(q.capacity) }

// Closed reports whether the queue was closed.
func (q *Queue) Closed() bool { return q.h.closed.Load() != 0 }

// Close closes the queue for every process: Put fails from now on, Get returns what is left
// and then ErrClosed. Every sleeper, in every process, wakes.
func (q *Queue) Close() {
	q.h.closed.Swap(1)
	wakeAll(&q.h.data)
	wakeAll(&q.h.room)
	wakeAll(&q.h.join)
}

// hasRoom reports whether a record of rec bytes would fit now, with the item it ends.
func (q *Queue) hasRoom(rec uint64) bool {
	t := q.h.tail.Load()
	h := q.h.head.Load()
	return items(h, t) < q.capacity && q.size-used(h, t) >= rec
}

// Put appends an item made of the bytes of segs, in order. Unless block, it returns ErrFull
// instead of waiting for room. A Put that fails has published nothing of the item.
func (q *Queue) Put(ctx context.Context, segs [][]byte, block bool) error {
	n := uint64(0)
	for _, s := range segs {
		n += uint64(len(s))
	}
	rec := recordSize(n)
	if rec > q.single {
		rec = recordSize(8) + reserve // the first chunk: the length and a byte at least
	}
	for {
		if q.h.closed.Load() != 0 {
			return ErrClosed
		}
		if q.hasRoom(rec) {
			if err := q.lockPut(ctx, block, ErrFull); err != nil {
				return err
			}
			if q.h.closed.Load() != 0 {
				q.unlockPut()
				return ErrClosed
			}
			if q.hasRoom(rec) {
				var err error
				if recordSize(n) <= q.single {
					q.putWhole(segs, n)
				} else {
					err = q.putChunks(ctx, segs, n)
				}
				q.unlockPut()
				return err
			}
			q.unlockPut()
		}
		if !block {
			return ErrFull
		}
		err := q.roomWaiter.wait(ctx, &q.h.room, func() bool {
			return q.hasRoom(rec) || q.h.closed.Load() != 0
		}, q.period, q.checkPeer)
		if err != nil {
			return err
		}
	}
}

// putWhole writes an item as one record and publishes it. The caller holds putLock and has
// seen room for it.
func (q *Queue) putWhole(segs [][]byte, n uint64) {
	h := q.h.head.Load()
	pos := posOf(h)
	q.writeHeader(pos, uint32(n), flagFirst|flagLast)
	at := pos + recHeader
	for _, s := range segs {
		q.copyIn(at, s)
		at += uint64(len(s))
	}
	q.h.head.Swap(pack(countOf(h)+1, pos+recordSize(n)))
	wake(&q.h.data)
}

// piece is the most bytes a chunk holds: a consumer copies one piece out while the producer
// copies the next in, and the smaller the pieces the sooner both are at work.
const piece = 64 << 10

// putChunks writes an item as a run of chunks, waiting for room between them. The caller
// holds putLock and has seen room for the first chunk. If ctx ends or the queue is closed
// before the last chunk is published, the item ends with an abort record: consumers drop
// what they read of it.
func (q *Queue) putChunks(ctx context.Context, segs [][]byte, n uint64) error {
	src := segments{segs: slices.Clone(segs)} // copyTo trims its slices
	first := true
	for {
		h := q.h.head.Load()
		room := q.size - used(h, q.h.tail.Load())
		overhead := uint64(recHeader + reserve)
		if first {
			overhead += 8
		}
		if room < overhead+8 {
			// Wait for a consumer to make room; the closed queue and ctx end the item. A
			// consumer reading the item holds the tail back until it learns the producer
			// waits (see takeItem).
			if !first {
				q.h.putStarved.Store(1)
				wake(&q.h.data)
			}
			err := q.pieceWaiter.wait(ctx, &q.h.room, func() bool {
				return q.size-used(q.h.head.Load(), q.h.tail.Load()) >= overhead+8 || q.h.closed.Load() != 0
			}, q.period, q.checkPeer)
			q.h.putStarved.Store(0)
			if err == nil && q.h.closed.Load() != 0 {
				err = ErrClosed
			}
			if err != nil {
				if !first {
					q.abort()
				}
				return err
			}
			continue
		}
		left := n - src.done
		take := min(left, (room-overhead)&^7, q.single, piece)
		if first {
			take = min(take, left-1) // a record both first and last is a whole item
		}
		payload := take
		flags := uint32(0)
		if first {
			flags |= flagFirst
			payload += 8
		}
		if take == left {
			flags |= flagLast
		}
		pos := posOf(h)
		q.writeHeader(pos, uint32(payload), flags)
		at := pos + recHeader
		if first {
			var b [8]byte
			binary.LittleEndian.PutUint64(b[:], n)
			q.copyIn(at, b[:])
			at += 8
		}
		src.copyTo(q, at, take)
		count := countOf(h)
		if flags&flagLast != 0 {
			count++
		} else if first {
			q.h.putOpen.Store(1)
		}
		q.h.head.Swap(pack(count, pos+recordSize(payload)))
		wake(&q.h.data)
		if flags&flagLast != 0 {
			q.h.putOpen.Store(0)
			return nil
		}
		first = false
	}
}

// abort ends the item whose chunks were published last with an abort record. The caller
// holds putLock; reserve keeps room for the record.
func (q *Queue) abort() {
	q.h.putStarved.Store(0)
	h := q.h.head.Load()
	pos := posOf(h)
	q.writeHeader(pos, 0, flagAbort)
	q.h.head.Swap(pack(countOf(h), pos+recHeader))
	q.h.putOpen.Store(0)
	wake(&q.h.data)
}

// lockPut takes putLock; taking it from a process that died writing an item ends that item.
// Unless block, it fails with busy if the lock stays held (see lock).
func (q *Queue) lockPut(ctx context.Context, block bool, busy error) error {
	ownerDied, err := lock(ctx, &q.h.putLock, block, busy)
	if err != nil {
		return err
	}
	if ownerDied && q.h.putOpen.Load() != 0 {
		q.abort()
	}
	return nil
}

func (q *Queue) unlockPut() { q.h.putLock.Unlock() }

// tryLockSpins is how many times TryPut and TryGet try a held lock before they give up: a
// holder copying an item lets go within microseconds; one writing or reading a large item in
// pieces may hold it for long, and the queue is then as good as full or empty to them.
const tryLockSpins = 1000

// holdSpins is how many times a blocking locker looks at a held lock before it asks for it:
// asleep in the lock, it would be woken by a system call of the holder's, and tens of
// microseconds later, where the holder lets go within a microsecond or two.
const holdSpins = 4000

// lock takes m, waiting as long as ctx allows if block, else for a few microseconds at
// most, after which it returns busy.
func lock(ctx context.Context, m *shmsync.Mutex, block bool, busy error) (ownerDied bool, err error) {
	if block {
		for i := 1; i <= holdSpins && m.Owner() != 0; i++ {
			if i%64 == 0 {
				runtime.Gosched()
			}
		}
		return m.Lock(ctx)
	}
	for i := range tryLockSpins {
		if ok, died := m.TryLock(); ok {
			return died, nil
		}
		if i%64 == 63 {
			runtime.Gosched()
		}
	}
	return false, busy
}

// checkPeer closes the queue when its PeerGone says so.
func (q *Queue) checkPeer() {
	if q.PeerGone != nil && q.h.closed.Load() == 0 && q.PeerGone() {
		q.Close()
	}
}

// SetPeer sets PeerGone, and makes sleeps short enough to notice the peer's death soon.
func (q *Queue) SetPeer(gone func() bool, period time.Duration) {
	q.PeerGone = gone
	q.period = period
}
