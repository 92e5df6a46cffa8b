//go:build unix

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/multiproc/multiproc/internal/ring"
	"golang.org/x/sys/unix"
)

// The machine's limits over the library's own transport: a pair of shared-memory
// rings (internal/ring) between the parent and a re-executed child, each as large as
// the pair the library gives a worker, read the way the library reads them when a
// message is due: poll for a while, then sleep until woken.

const (
	ringSize = 256 << 10              // bytes each way, as internal/spawn's ringSize
	ringPoll = 100 * time.Microsecond // a reader's poll before it sleeps, as the library's spinWindow
)

// pollWaiter has a ring's reader poll for a fixed time before it sleeps. The library
// polls this long when a message is due; a ping-pong always has one due.
type pollWaiter time.Duration

func (w pollWaiter) Poll() time.Duration { return time.Duration(w) }
func (pollWaiter) Polled(bool)           {}

// ringChild is a limit child that also maps a pair of rings from fd 4. The child
// exits when the rings close or when its socketpair reaches EOF (the parent closed
// it or died), and the parent closes the rings when the child exits, so that no
// side waits for ever on a ring nobody writes.
type ringChild struct {
	*limitChild
	rings   *ring.Conn
	bell    *os.File      // the socketpair: wake-ups, and its end ends the child
	exited  chan struct{} // closed once the child is reaped
	waitErr error         // the child's exit, once exited is closed
}

func startRingChild(mode string) (*ringChild, error) {
	f, rings, err := ring.Create(ringSize)
	if err != nil {
		return nil, err
	}
	lc, err := startLimitChild(mode, f)
	f.Close()
	if err != nil {
		rings.Close()
		return nil, err
	}
	rings.Reader.Waiter = pollWaiter(ringPoll)
	// The socketpair carries the rings' wake-ups, through the runtime's poller.
	if err := unix.SetNonblock(lc.fd, true); err != nil {
		rings.Close()
		lc.close()
		return nil, err
	}
	bell := os.NewFile(uintptr(lc.fd), "bell")
	lc.fd = -1
	rings.Listen(bell, nil)
	c := &ringChild{limitChild: lc, rings: rings, bell: bell, exited: make(chan struct{})}
	go func() {
		c.waitErr = c.cmd.Wait()
		close(c.exited)
		rings.Close() // a dead child answers nothing: reads end
	}()
	return c, nil
}

// close closes the rings and hangs up, either of which ends the child, and waits
// until it is reaped.
func (c *ringChild) close() error {
	c.rings.Close()
	c.bell.Close()
	if c.fd >= 0 {
		unix.Close(c.fd)
		c.fd = -1
	}
	<-c.exited
	return c.waitErr
}

// check says when an error of the rings came from the child's death.
func (c *ringChild) check(err error) error {
	if err == nil {
		return nil
	}
	select {
	case <-c.exited:
		if c.waitErr != nil {
			return fmt.Errorf("%w: child: %v", err, c.waitErr)
		}
		return fmt.Errorf("%w: the child exited", err)
	default:
		return err
	}
}

// measurePingPongRing is the floor of a request/response over the library's
// transport: 16 bytes each way through the rings, both readers polling before they
// sleep. Microseconds per round trip.
func measurePingPongRing(reps, n int) (*Summary, error) {
	c, err := startRingChild("echo-ring")
	if err != nil {
		return nil, err
	}
	defer c.close()
	buf := make([]byte, pingSize)
	round := func(k int) error {
		for range k {
			if _, err := c.rings.Write(buf); err != nil {
				return c.check(err)
			}
			if _, err := io.ReadFull(c.rings, buf); err != nil {
				return c.check(err)
			}
		}
		return nil
	}
	s, err := perCall(reps, n, round)
	if err != nil {
		return nil, err
	}
	s.Note = fmt.Sprintf("%d-byte messages, %d KiB rings; both readers poll %v, then sleep until woken",
		pingSize, ringSize>>10, ringPoll)
	return s, nil
}

// measureStreamRing sends size bytes through the rings to a sink child and waits for
// its acknowledgement (GB/s, one way), as measureStream does over a socketpair.
func measureStreamRing(reps, size int) (*Summary, error) {
	c, err := startRingChild("sink-ring")
	if err != nil {
		return nil, err
	}
	defer c.close()
	write := func(b []byte) error {
		_, err := c.rings.Write(b)
		return c.check(err)
	}
	ack := func(b []byte) error {
		_, err := io.ReadFull(c.rings, b)
		return c.check(err)
	}
	s, err := timeStream(reps, size, write, ack)
	if err != nil {
		return nil, err
	}
	s.Note += fmt.Sprintf(", %d KiB rings", ringSize>>10)
	return s, nil
}

// openRings maps the parent's rings from ringFD, and closes them when the socketpair
// at childFD reaches EOF: the parent has hung up or died, and the rings cannot tell.
// Closing them ends every read and write.
func openRings() (*ring.Conn, error) {
	rings, err := ring.Open(ringFD)
	if err != nil {
		return nil, err
	}
	unix.Close(ringFD) // the mapping stays
	rings.Reader.Waiter = pollWaiter(ringPoll)
	if err := unix.SetNonblock(childFD, true); err != nil {
		return nil, err
	}
	rings.Listen(os.NewFile(childFD, "bell"), rings.Close)
	return rings, nil
}

// echoRing answers every 16-byte message through the rings with itself.
func echoRing() error {
	rings, err := openRings()
	if err != nil {
		return err
	}
	buf := make([]byte, pingSize)
	for {
		if _, err := io.ReadFull(rings, buf); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if _, err := rings.Write(buf); err != nil {
			if errors.Is(err, ring.ErrClosed) {
				return nil
			}
			return err
		}
	}
}

// sinkRing is sink through the rings: it reads streams of the form [8-byte
// length][length bytes] into a warm buffer and acknowledges each with one byte.
func sinkRing() error {
	rings, err := openRings()
	if err != nil {
		return err
	}
	hdr := make([]byte, 8)
	buf := make([]byte, streamChunk)
	for i := range buf {
		buf[i] = byte(i) // touch every page before the parent times anything
	}
	for {
		if _, err := io.ReadFull(rings, hdr); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		for left := binary.LittleEndian.Uint64(hdr); left > 0; {
			n, err := rings.Read(buf[:min(left, uint64(len(buf)))])
			if err != nil {
				if errors.Is(err, io.EOF) {
					return io.ErrUnexpectedEOF
				}
				return err
			}
			left -= uint64(n)
		}
		if _, err := rings.Write(hdr[:1]); err != nil {
			return err
		}
	}
}
