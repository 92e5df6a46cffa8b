package shmqueue

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/multiproc/multiproc/internal/procid"
)

// A pipe's memory is a page holding its two ends' owners, then the queue end 0 writes and
// end 1 reads, then the queue end 1 writes and end 0 reads. An end belongs to one process
// at a time, named in owners: the other end takes the owner's death for a close. The
// owner is recorded in the shared memory, not inferred from who holds a file descriptor,
// because a process that passed an end on may keep a copy it no longer uses.
type pipeHeader struct {
	magic  uint64
	_      [56]byte
	tag    uint64
	_      [48]byte
	owners [2]struct {
		id atomic.Uint64 // a procid.ID
		_  [56]byte
	}
}

const pipeMagic = 0x31657069705f706d // "mp_pipe1"

// peerCheck is how often a waiting end looks whether the other end's process is alive.
const peerCheck = 20 * time.Millisecond

// ErrNotOwner is returned by an end used in a process that does not own it.
var ErrNotOwner = errors.New("shmqueue: this end of the pipe belongs to another process")

// PipeSize is how many bytes of memory a pipe with rings of ringSize bytes takes.
func PipeSize(ringSize int) int { return HeaderSize + 2*Size(ringSize) }

// InitPipe lays out a new pipe in mem, zeroed and PipeSize(ringSize) bytes long. Both ends
// belong to the calling process.
func InitPipe(mem []byte, ringSize int, tag uint64) error {
	if len(mem) != PipeSize(ringSize) {
		return fmt.Errorf("shmqueue: %d bytes of memory for a pipe of %d", len(mem), PipeSize(ringSize))
	}
	for i := range 2 {
		if err := Init(pipeQueue(mem, ringSize, i), ringSize, MaxCapacity, tag); err != nil {
			return err
		}
	}
	h := (*pipeHeader)(unsafe.Pointer(&mem[0]))
	me := uint64(procid.Self())
	h.owners[0].id.Store(me)
	h.owners[1].id.Store(me)
	h.tag = tag
	h.magic = pipeMagic
	return nil
}

func pipeQueue(mem []byte, ringSize, i int) []byte {
	at := HeaderSize + i*Size(ringSize)
	return mem[at : at+Size(ringSize) : at+Size(ringSize)]
}

// End is one process's handle on one end of a pipe.
type End struct {
	out, in    *Queue
	self, peer *atomic.Uint64 // the owners of this end and of the other, procid.IDs
	me         uint64
	side       int
	tag        uint64
}

// AttachEnd returns a handle on end side (0 or 1) of the pipe InitPipe laid out in mem. The
// end keeps its owner until Adopt.
func AttachEnd(mem []byte, side int) (*End, error) {
	if side != 0 && side != 1 || len(mem) < HeaderSize+2*Size(MinRing) || (len(mem)-HeaderSize)%2 != 0 {
		return nil, errors.New("shmqueue: the memory holds no pipe")
	}
	h := (*pipeHeader)(unsafe.Pointer(&mem[0]))
	if h.magic != pipeMagic {
		return nil, errors.New("shmqueue: the memory holds no pipe")
	}
	ringSize := (len(mem)-HeaderSize)/2 - HeaderSize
	out, err := Attach(pipeQueue(mem, ringSize, side))
	if err != nil {
		return nil, err
	}
	in, err := Attach(pipeQueue(mem, ringSize, 1-side))
	if err != nil {
		return nil, err
	}
	e := &End{out: out, in: in, self: &h.owners[side].id, peer: &h.owners[1-side].id,
		me: uint64(procid.Self()), side: side, tag: h.tag}
	out.SetPeer(e.peerGone, peerCheck)
	in.SetPeer(e.peerGone, peerCheck)
	return e, nil
}

// Tag is the tag given to InitPipe.
func (e *End) Tag() uint64 { return e.tag }

// Side is 0 or 1.
func (e *End) Side() int { return e.side }

// Adopt makes the end this process's: the process that owned it before no longer does.
func (e *End) Adopt() { e.self.Store(e.me) }

// Owned reports whether this process owns the end.
func (e *End) Owned() bool { return e.self.Load() == e.me }

// Owner is the pid of the process that owns the end.
func (e *End) Owner() int { return procid.ID(e.self.Load()).Pid() }

// peerGone reports whether the process owning the other end has died, and if so closes
// the pipe both ways, as the dead process would have.
func (e *End) peerGone() bool {
	p := e.peer.Load()
	if p == e.me || p == 0 || procid.Alive(procid.ID(p)) {
		return false
	}
	e.out.Close()
	e.in.Close()
	return true
}

// Send appends a message made of the bytes of segs for the other end.
func (e *End) Send(ctx context.Context, segs [][]byte) error {
	if !e.Owned() {
		return ErrNotOwner
	}
	if e.out.Closed() {
		return ErrClosed
	}
	return e.out.Put(ctx, segs, true)
}

// Recv takes the oldest message from the other end, as Queue.Get does. Once the other end
// is closed or its owner dead and every message is read, it returns ErrClosed.
func (e *End) Recv(ctx context.Context, take func(b []byte, owned bool) error) error {
	if !e.Owned() {
		return ErrNotOwner
	}
	return e.in.Get(ctx, true, take)
}

// Close closes the pipe both ways: the other end reads what was sent and then ErrClosed, and
// its Send fails. A process that does not own the end closes nothing.
func (e *End) Close() {
	if !e.Owned() {
		return
	}
	e.out.Close()
	e.in.Close()
}
