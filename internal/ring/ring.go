// Package ring carries a stream of bytes each way between two processes through shared
// memory: a writer copies bytes in and publishes how far it got, the reader copies them out.
//
// A message over a socket costs a system call on each side, several microseconds on a VM, and
// the wake-up of a sleeping reader tens of microseconds more. Through a ring, a reader that is
// polling sees a message in well under a microsecond, and neither side enters the kernel while
// the other is awake. A side that has nothing to do sleeps, and the other side wakes it only
// when it is known to sleep: polling and sleeping are the reader's choice (see Waiter), so
// that an idle process costs no CPU.
//
// A sleeper is woken through a socket the two processes share (see Listen): the waker writes
// a byte, and the sleeper's listening goroutine, parked in the runtime's poller, passes the
// wake-up on over a channel. Sleeping that way holds no thread. A futex in the shared memory
// would wake faster, but a goroutine asleep in a system call holds its thread and its P, and
// the runtime's monitor, taking the P back, goes on waking every 20 µs for a while: on a
// machine whose CPUs all run tasks, each of those wake-ups takes a CPU from a task (CPU-bound
// work ran 10% slower that way).
//
// The memory is mapped by both processes from internal/shm: it has no name in the filesystem,
// so nothing is left behind whatever happens to either of them. Neither side can tell when the other has
// died; whoever learns it (the parent reaping its child, the child seeing its parent's socket
// close) calls Close, after which reads return what was written and then io.EOF, and writes
// fail.
package ring

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/multiproc/multiproc/internal/shm"
)

// ErrClosed is returned by writes to a closed ring.
var ErrClosed = errors.New("ring: closed")

// header is the shared state of one ring, at the start of its memory. head and tail count
// bytes since the ring was made (they never wrap in practice: 2^64 bytes), each written by one
// side only, on cache lines of their own so that the two sides do not slow each other.
type header struct {
	head atomic.Uint64 // bytes written; the writer's
	_    [56]byte
	tail atomic.Uint64 // bytes read; the reader's
	_    [56]byte
	// readerWaits is 1 while the reader sleeps or is about to. The writer clears it and
	// wakes the reader after publishing bytes.
	readerWaits atomic.Uint32
	_           [60]byte
	// writerWaits is the same for a writer waiting for room.
	writerWaits atomic.Uint32
	closed      atomic.Uint32 // 1 once either side has closed
}

// The bytes a wake-up sends over the socket.
const (
	bellData = 'd' // the sleeping reader has bytes to read
	bellRoom = 'r' // the waiting writer has room
)

// bells is one process's side of the wake-ups of a Conn.
type bells struct {
	sock *os.File      // to the other process; its bytes are wake-ups
	data chan struct{} // this side's reader waits here
	room chan struct{} // this side's writer waits here
	done chan struct{} // closed by Close
}

// ring wakes the other process's reader (bellData) or writer (bellRoom). A failed write
// means the other process is gone, which its reaper learns otherwise.
func (b *bells) ring(what byte) {
	if b.sock != nil {
		b.sock.Write([]byte{what})
	}
}

// notify passes a wake-up on without waiting: one pending is as good as many.
func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// headerSpace is the room the header takes: a page, so the data is page aligned.
const headerSpace = 4096

// ring is one direction: its header and its data in the mapping.
type ring struct {
	h    *header
	data []byte
	mask uint64
	b    *bells // this process's wake-ups, shared by the Reader and the Writer
	// timer bounds a sleep (see sleepMax); made once, so that sleeping allocates nothing.
	timer *time.Timer
	// ioSync orders, for the race detector, what a process did before it wrote against what
	// it does after it reads: a reply read from one ring was caused by a message written to
	// the other, through another process the detector cannot see (the syscall package does
	// the same for read and write). Both rings of a Conn share it.
	ioSync *atomic.Uint64
}

func (r *ring) init(mem []byte, b *bells, ioSync *atomic.Uint64) {
	r.h = (*header)(unsafe.Pointer(&mem[0]))
	r.b = b
	r.timer = time.NewTimer(sleepMax)
	r.timer.Stop()
	r.data = mem[headerSpace:]
	r.mask = uint64(len(r.data) - 1)
	r.ioSync = ioSync
}

// Waiter decides how a Reader waits when there is nothing to read.
type Waiter interface {
	// Poll is called once per Read that finds the ring empty, before waiting; it returns how
	// long to poll before sleeping, or 0 to sleep at once.
	Poll() time.Duration
	// Polled follows a Poll that returned more than 0: hit says whether bytes came in time.
	Polled(hit bool)
}

// Reader is the reading side of a ring. One goroutine at a time may read.
type Reader struct {
	ring
	// Waiter, if set, decides whether to poll before sleeping; without it, Read sleeps at once.
	Waiter Waiter
}

// Writer is the writing side of a ring. One goroutine at a time may write.
type Writer struct{ ring }

// piece is the most bytes copied before they are published: a reader starts on a large
// write, and a writer refills the room a large read makes, while the rest is copied.
const piece = 32 << 10

// pollYield is how many polls of an empty ring go between yields of the CPU to other
// goroutines (and looks at the clock): a few microseconds.
const pollYield = 64

// Read copies what is in the ring into p, waiting until there is something. After Close it
// returns what was written before and then io.EOF.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	asked := false
	polling := false // the Waiter decided to poll, until until, and is told how it went
	var until time.Time
	for spins := 0; ; spins++ {
		n := r.take(p)
		if n == 0 && r.h.closed.Load() != 0 {
			n = r.take(p) // written just before the close
			if n == 0 {
				if polling {
					r.Waiter.Polled(false)
				}
				return 0, io.EOF
			}
		}
		if n > 0 {
			if polling {
				r.Waiter.Polled(true)
			}
			return n, nil
		}
		if !asked {
			asked = true
			if r.Waiter != nil {
				if d := r.Waiter.Poll(); d > 0 {
					polling, until = true, time.Now().Add(d)
				}
			}
		}
		if polling {
			// Most polls are a load of the writer's count. Every pollYield polls, and at the
			// first, the clock is read and other goroutines get the CPU: a goroutine this one
			// made ready (a caller whose result it delivered) runs first. Yielding at every
			// poll would make each poll a trip through the scheduler's locks, and wake idle
			// threads to take the goroutine that yields.
			if spins%pollYield != 0 {
				continue
			}
			if time.Now().Before(until) {
				runtime.Gosched()
				continue
			}
			polling = false
			r.Waiter.Polled(false)
		}
		r.sleep()
	}
}

// Ready reports whether a Read would return at once: bytes are there, or the ring is closed.
func (r *Reader) Ready() bool {
	return r.h.head.Load() != r.h.tail.Load() || r.h.closed.Load() != 0
}

// take copies what it can into p and publishes the room it made.
func (r *Reader) take(p []byte) int {
	t := r.h.tail.Load()
	avail := r.h.head.Load() - t
	if avail == 0 {
		return 0
	}
	// A large read is published a piece at a time, so that a writer waiting for room goes
	// on while the rest is copied.
	n := int(min(uint64(len(p)), avail, piece))
	off := t & r.mask
	c := copy(p[:n], r.data[off:])
	if c < n {
		copy(p[c:n], r.data)
	}
	r.h.tail.Swap(t + uint64(n)) // a full barrier before the load below (see sleep)
	r.ioSync.Load()
	if r.h.writerWaits.Load() != 0 && r.h.writerWaits.CompareAndSwap(1, 0) {
		r.b.ring(bellRoom)
	}
	return n
}

// sleep waits until the writer publishes bytes or the ring is closed. The store of
// readerWaits and the load of head, against the writer's store of head and load of
// readerWaits, are ordered: either the reader sees the bytes, or the writer sees the reader
// waiting and wakes it. The stores are swaps, full barriers whatever the build (a plain
// atomic store is not one under the race detector). A sleep still ends after sleepMax, so
// that a wake-up lost by some bug would cost time, never a hang.
func (r *Reader) sleep() {
	r.h.readerWaits.Swap(1)
	if r.h.head.Load() == r.h.tail.Load() && r.h.closed.Load() == 0 {
		r.timer.Reset(sleepMax)
		select {
		case <-r.b.data:
		case <-r.b.done:
		case <-r.timer.C:
		}
		r.timer.Stop()
	}
	r.h.readerWaits.Store(0)
}

// sleepMax bounds a sleep: a wake-up is never lost by design, but a bug that lost one would
// then cost this much, not a hang.
const sleepMax = time.Second

// writerPoll is how long a writer polls for room before it sleeps: a reader that is awake
// makes room within microseconds, and one that was asleep takes tens of microseconds to
// wake, during which a writer that slept too would only add its own wake-up.
const writerPoll = 100 * time.Microsecond

// Write copies all of p into the ring, waiting for room as the reader takes it. It fails with
// ErrClosed once the ring is closed.
func (w *Writer) Write(p []byte) (int, error) {
	w.ioSync.Add(1)
	done := 0
	for done < len(p) {
		if w.h.closed.Load() != 0 {
			return done, ErrClosed
		}
		head := w.h.head.Load()
		free := uint64(len(w.data)) - (head - w.h.tail.Load())
		if free == 0 {
			w.waitRoom(head)
			continue
		}
		n := int(min(free, uint64(len(p)-done), piece)) // published a piece at a time, as take
		off := head & w.mask
		c := copy(w.data[off:], p[done:done+n])
		if c < n {
			copy(w.data, p[done+c:done+n])
		}
		w.h.head.Swap(head + uint64(n)) // a full barrier before the load below (see sleep)
		if w.h.readerWaits.Load() != 0 && w.h.readerWaits.CompareAndSwap(1, 0) {
			w.b.ring(bellData)
		}
		done += n
	}
	return done, nil
}

// waitRoom waits until the reader has taken something from a full ring, or it is closed.
func (w *Writer) waitRoom(head uint64) {
	full := func() bool {
		return head-w.h.tail.Load() == uint64(len(w.data)) && w.h.closed.Load() == 0
	}
	until := time.Now().Add(writerPoll)
	for spins := 1; full(); spins++ {
		if spins%pollYield != 0 {
			continue
		}
		if time.Now().After(until) {
			w.h.writerWaits.Swap(1)
			if full() {
				w.timer.Reset(sleepMax)
				select {
				case <-w.b.room:
				case <-w.b.done:
				case <-w.timer.C:
				}
				w.timer.Stop()
			}
			w.h.writerWaits.Store(0)
			return
		}
		runtime.Gosched()
	}
}

// Conn is one process's end of a pair of rings: it reads one and writes the other.
type Conn struct {
	Reader
	Writer
	in, out   *header
	bells     bells
	closeOnce sync.Once
}

// Listen takes wake-ups from the other process on sock, a stream socket (non-blocking, so
// that the runtime's poller waits on it) whose other end the other process passes to its
// own Listen. Call it before the first Read or Write. When sock reaches its end or fails,
// the listening goroutine calls onEnd, if set, and ends; closing sock ends it too.
func (c *Conn) Listen(sock *os.File, onEnd func()) {
	c.bells.sock = sock
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := sock.Read(buf)
			for _, what := range buf[:n] {
				switch what {
				case bellData:
					notify(c.bells.data)
				case bellRoom:
					notify(c.bells.room)
				}
			}
			if err != nil {
				if onEnd != nil {
					onEnd()
				}
				return
			}
		}
	}()
}

// Close closes both rings and wakes whoever waits on them, on both sides. Bytes already
// written can still be read.
func (c *Conn) Close() {
	c.closeOnce.Do(func() {
		c.in.closed.Store(1)
		c.out.closed.Store(1)
		close(c.bells.done)
		// The other side's sleepers look again, and find the rings closed.
		c.bells.ring(bellData)
		c.bells.ring(bellRoom)
	})
}

// Create makes a pair of rings of size bytes each way (a power of two, at least a page) in new
// shared memory (internal/shm), and returns the file to give the other process and this
// process's end, which writes the first ring and reads the second. The file is close-on-exec:
// pass it explicitly. Both ends must Listen before they read or write.
func Create(size int) (*os.File, *Conn, error) {
	if size < headerSpace || size&(size-1) != 0 {
		return nil, nil, fmt.Errorf("ring: size %d is not a power of two of at least %d", size, headerSpace)
	}
	f, err := shm.Create("multiproc-rings", 2*(headerSpace+size))
	if err != nil {
		return nil, nil, fmt.Errorf("ring: %w", err)
	}
	c, err := mapEnd(int(f.Fd()), 0)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, c, nil
}

// Open maps the rings of a file made by Create, in the other process: its end reads the
// first ring and writes the second.
func Open(fd int) (*Conn, error) { return mapEnd(fd, 1) }

// mapEnd maps the two rings; side 0 writes the first and reads the second, side 1 the reverse.
// The mapping lives as long as the Conn is reachable: it is unmapped by a cleanup, never while
// a goroutine may still touch it.
func mapEnd(fd, side int) (*Conn, error) {
	total, err := shm.Size(fd)
	if err != nil {
		return nil, fmt.Errorf("ring: %w", err)
	}
	region := int(total / 2)
	size := region - headerSpace
	if total%2 != 0 || size < headerSpace || size&(size-1) != 0 {
		return nil, fmt.Errorf("ring: a file of %d bytes does not hold two rings", total)
	}
	mem, err := shm.Map(fd, 2*region)
	if err != nil {
		return nil, fmt.Errorf("ring: mapping the rings: %w", err)
	}
	c := &Conn{bells: bells{data: make(chan struct{}, 1), room: make(chan struct{}, 1),
		done: make(chan struct{})}}
	first, second := mem[:region], mem[region:]
	if side == 1 {
		first, second = second, first
	}
	ioSync := new(atomic.Uint64)
	c.Writer.init(first, &c.bells, ioSync)
	c.Reader.init(second, &c.bells, ioSync)
	c.out, c.in = c.Writer.h, c.Reader.h
	runtime.AddCleanup(c, func(m []byte) { shm.Unmap(m) }, mem)
	return c, nil
}
