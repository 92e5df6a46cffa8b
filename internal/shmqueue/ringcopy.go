package shmqueue

import "encoding/binary"

// Copies in and out of the ring, which may wrap around its end. Positions are in the ring's
// byte stream; only their low bits matter.

func (q *Queue) writeHeader(pos uint64, n, flags uint32) {
	b := q.ring[pos&q.mask:]
	binary.LittleEndian.PutUint32(b, n)
	binary.LittleEndian.PutUint32(b[4:], flags)
}

func (q *Queue) readHeader(pos uint64) (n, flags uint32) {
	b := q.ring[pos&q.mask:]
	return binary.LittleEndian.Uint32(b), binary.LittleEndian.Uint32(b[4:])
}

// copyIn copies b into the ring at pos.
func (q *Queue) copyIn(pos uint64, b []byte) {
	c := copy(q.ring[pos&q.mask:], b)
	if c < len(b) {
		copy(q.ring, b[c:])
	}
}

// copyOut fills b from the ring at pos and returns len(b).
func (q *Queue) copyOut(b []byte, pos uint64) int {
	c := copy(b, q.ring[pos&q.mask:])
	if c < len(b) {
		copy(b[c:], q.ring)
	}
	return len(b)
}

// view returns the n bytes at pos: the ring's own memory if they do not wrap (owned false),
// else a copy.
func (q *Queue) view(pos, n uint64) (b []byte, owned bool) {
	off := pos & q.mask
	if off+n <= q.size {
		return q.ring[off : off+n : off+n], false
	}
	b = make([]byte, n)
	q.copyOut(b, pos)
	return b, true
}

// segments reads the bytes of a list of slices in order.
type segments struct {
	segs [][]byte
	done uint64 // bytes read so far
}

// copyTo copies the next n bytes into the ring at pos.
func (s *segments) copyTo(q *Queue, pos, n uint64) {
	s.done += n
	for n > 0 {
		k := min(uint64(len(s.segs[0])), n)
		q.copyIn(pos, s.segs[0][:k])
		pos += k
		n -= k
		s.segs[0] = s.segs[0][k:]
		if len(s.segs[0]) == 0 {
			s.segs = s.segs[1:]
		}
	}
}
