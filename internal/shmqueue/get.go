package shmqueue

import (
	"context"
	"encoding/binary"

	"github.com/multiproc/multiproc/internal/shmsync"
	"github.com/multiproc/multiproc/internal/wire"
)

// maxItem bounds the length an item's first chunk may claim, against a malformed ring.
const maxItem = 1 << 40

// hasData reports whether records are waiting.
func (q *Queue) hasData() bool { return q.h.head.Load() != q.h.tail.Load() }

// Get takes the oldest item and calls take with its bytes. When owned is false, b is the
// queue's own memory, valid only during the call; when true, b is the caller's to keep.
// Unless block, Get returns ErrEmpty instead of waiting for an item. Once the queue is
// closed and drained it returns ErrClosed. take's error is returned; the item is taken
// whatever take returns.
//
// An item larger than half the ring comes in pieces, as fast as its producer writes them. A
// Get whose ctx ends meanwhile leaves the item whole in the queue, unless the item is too
// large for the ring and the Get has begun to take it: it then reads it to its end.
func (q *Queue) Get(ctx context.Context, block bool, take func(b []byte, owned bool) error) error {
	for {
		if q.hasData() {
			if _, err := lock(ctx, &q.h.getLock, block, ErrEmpty); err != nil {
				return err
			}
			got, err := q.takeItem(ctx, take)
			q.h.getLock.Unlock()
			if got || err != nil {
				return err
			}
			continue
		}
		if q.h.closed.Load() != 0 {
			// A Put that saw the queue open may still be publishing: wait for its end.
			if err := q.lockPut(ctx, block, ErrEmpty); err != nil {
				return err
			}
			q.unlockPut()
			if !q.hasData() {
				return ErrClosed
			}
			continue
		}
		if !block {
			return ErrEmpty
		}
		err := q.dataWaiter.wait(ctx, &q.h.data, func() bool {
			return q.hasData() || q.h.closed.Load() != 0
		}, q.period, q.checkPeer)
		if err != nil {
			return err
		}
	}
}

// takeItem reads records until it has read an item, which it gives to take, and reports
// whether it did. It skips abort records and the rest of items whose beginning a dead
// consumer took. The caller holds getLock.
//
// The records of an item in chunks are read ahead of the tail, which moves past them only
// once the item is read, or when its producer has no room left for the next piece (putStarved):
// until then, a consumer that dies or whose ctx ends leaves the whole item in the queue. An
// item that fits in the ring is therefore taken at once, or not at all.
func (q *Queue) takeItem(ctx context.Context, take func(b []byte, owned bool) error) (bool, error) {
	var buf []byte // the item being read in chunks
	var filled uint64
	inItem, committed := false, false // committed: a part of the item is behind the tail
	t := q.h.tail.Load()
	count, pos := countOf(t), posOf(t) // where this consumer has read to
	for {
		avail := (posOf(q.h.head.Load()) - pos) & posMask
		if avail == 0 {
			if !inItem {
				return false, nil
			}
			if q.h.putStarved.Load() != 0 && !committed {
				q.commit(count, pos) // the producer needs the room the item's beginning takes
				committed = true
			}
			if err := q.waitChunk(ctx, pos, committed); err != nil {
				return false, err // nothing of the item is behind the tail: it stays whole
			}
			continue
		}
		n, flags := q.readHeader(pos)
		rec := recordSize(uint64(n))
		if rec > avail {
			return false, ErrCorrupt
		}
		next := pos + rec
		if flags&flagLast != 0 {
			count++
		}
		payload := pos + recHeader
		switch {
		case flags&flagAbort != 0:
			buf, filled, inItem, committed = nil, 0, false, false
			q.commit(count, next)
		case flags&(flagFirst|flagLast) == flagFirst|flagLast:
			b, owned := q.view(payload, uint64(n))
			err := take(b, owned)
			q.commit(count, next)
			return true, err
		case flags&flagFirst != 0:
			if n < 8 {
				return false, ErrCorrupt
			}
			var lb [8]byte
			q.copyOut(lb[:], payload)
			total := binary.LittleEndian.Uint64(lb[:])
			if total > maxItem || total < uint64(n)-8 {
				return false, ErrCorrupt
			}
			buf = wire.NewBuffer(int(total))
			filled = uint64(q.copyOut(buf[:n-8], payload+8))
			inItem, committed = true, false
		case !inItem:
			q.commit(count, next) // the rest of an item a dead consumer began
		default:
			if filled+uint64(n) > uint64(len(buf)) {
				return false, ErrCorrupt
			}
			filled += uint64(q.copyOut(buf[filled:filled+uint64(n)], payload))
			if flags&flagLast != 0 {
				if filled != uint64(len(buf)) {
					return false, ErrCorrupt
				}
				err := take(buf, true)
				q.commit(count, next)
				return true, err
			}
			if committed {
				q.commit(count, next) // streaming: the producer waits on every piece
			}
		}
		pos = next
	}
}

// commit publishes the tail: the records before pos are read, count items taken.
func (q *Queue) commit(count, pos uint64) {
	q.h.tail.Swap(pack(count, pos))
	wake(&q.h.room)
}

// waitChunk waits, in the middle of an item read to pos, for its producer's next piece, or
// for the producer to run out of room. If the producer died writing the item, the item is
// ended with an abort record here. Unless committed, ctx ending ends the wait.
func (q *Queue) waitChunk(ctx context.Context, pos uint64, committed bool) error {
	if committed {
		ctx = context.Background()
	}
	return q.chunkWaiter.wait(ctx, &q.h.data, func() bool {
		return posOf(q.h.head.Load()) != pos || q.h.putStarved.Load() != 0 && !committed
	}, shmsync.Slice, func() {
		if ok, died := q.h.putLock.TryLock(); ok {
			if died && q.h.putOpen.Load() != 0 {
				q.abort()
			}
			q.unlockPut()
		}
	})
}
