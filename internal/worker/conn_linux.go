package worker

import (
	"io"
	"runtime"
	"time"

	"golang.org/x/sys/unix"

	"github.com/multiproc/multiproc/internal/spin"
)

// spinWindow is how long an idle worker keeps polling its socket before it sleeps. A sleeping
// thread takes tens of microseconds to wake on a VM, more than a whole round trip otherwise
// costs: a caller that sends its next task soon after the last result (sequential Apply) finds
// the worker awake. It costs an idle worker at most this much CPU after each burst of work.
const spinWindow = 100 * time.Microsecond

// conn is the worker's end of its control socket, used with raw non-blocking syscalls on
// whatever thread the reading goroutine is on, rather than through the runtime's poller.
type conn struct {
	fd     int
	s      *server
	policy spin.Policy
}

// Read reads what is there. When nothing is, it first lets the server write the results it
// kept back (so results wait only while more input is already at hand), then spins while the
// worker has just become idle, and otherwise sleeps in poll until input comes.
func (c *conn) Read(p []byte) (int, error) {
	spun := false
	var spinUntil time.Time
	for {
		n, err := unix.Read(c.fd, p)
		switch {
		case n > 0:
			if !spinUntil.IsZero() {
				c.policy.Hit()
			}
			return n, nil
		case err == nil:
			return 0, io.EOF
		case err == unix.EINTR:
			continue
		case err != unix.EAGAIN:
			return 0, err
		}
		if !spun {
			spun = true
			if idle := c.s.idle(); idle && c.policy.Allow() {
				spinUntil = time.Now().Add(spinWindow)
			}
		}
		if !spinUntil.IsZero() {
			if time.Now().Before(spinUntil) {
				runtime.Gosched()
				continue
			}
			spinUntil = time.Time{}
			c.policy.Miss()
		}
		fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return 0, err
		}
	}
}

// Write writes all of p, waiting in poll while the socket is full.
func (c *conn) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n, err := unix.Write(c.fd, p[done:])
		if n > 0 {
			done += n
		}
		switch {
		case err == nil || err == unix.EINTR:
		case err == unix.EAGAIN:
			fds := []unix.PollFd{{Fd: int32(c.fd), Events: unix.POLLOUT}}
			if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
				return done, err
			}
		default:
			return done, err
		}
	}
	return done, nil
}
