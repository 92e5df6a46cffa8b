package shmqueue

import (
	"context"

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
// A Get that has begun to read an item larger than half the ring reads it to its
// end, which comes as fast as its producer writes it: ctx is not looked at meanwhile.
func (q *Queue) Get(ctx context.Context, block bool, take func(b []byte, owned bool) error) error {
	for {
		if q.hasData() {
			if _, err := lock(ctx, &q.h.getLock, block, ErrEmpty); err != nil {
				return err
			}
			got, err := q.takeItem(take)
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
func (q *Queue) takeItem(take func(b []byte, owned bool) error) (bool, error) {
	var buf []byte // the item being read in chunks
	var filled uint64
	inItem := false
	for {
		t := q.h.tail.Load()
		avail := used(q.h.head.Load(), t)
		if avail == 0 {
			if !inItem {
				return false, nil
			}
			q.waitChunk()
			continue
		}
		pos := posOf(t)
		n, flags := q.readHeader(pos)
		rec := recordSize(uint64(n))
		if rec > avail {
			return false, ErrCorrupt
		}
		count, next := countOf(t), pos+rec
		if flags&flagLast != 0 {
			count++
		}
		payload := pos + recHeader
		switch {
		case flags&flagAbort != 0:
			buf, filled, inItem = nil, 0, false
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
			total := uint64(lb[0]) | uint64(lb[1])<<8 | uint64(lb[2])<<16 | uint64(lb[3])<<24 |
				uint64(lb[4])<<32 | uint64(lb[5])<<40 | uint64(lb[6])<<48 | uint64(lb[7])<<56
			if total > maxItem || total < uint64(n)-8 {
				return false, ErrCorrupt
			}
			buf = wire.NewBuffer(int(total))
			filled = uint64(q.copyOut(buf[:n-8], payload+8))
			inItem = true
			q.commit(count, next)
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
			q.commit(count, next)
		}
	}
}

// commit publishes the tail: the records before pos are read, count items taken.
func (q *Queue) commit(count, pos uint64) {
	q.h.tail.Swap(pack(count, pos))
	wake(&q.h.room)
}

// waitChunk waits, in the middle of an item, for its producer's next chunk. If the producer
// died writing it, the item is ended with an abort record here.
func (q *Queue) waitChunk() {
	q.chunkWaiter.wait(context.Background(), &q.h.data, q.hasData, shmsync.Slice, func() {
		if ok, died := q.h.putLock.TryLock(); ok {
			if died && q.h.putOpen.Load() != 0 {
				q.abort()
			}
			q.unlockPut()
		}
	})
}
