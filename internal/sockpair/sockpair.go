//go:build unix

// Package sockpair makes the unix socket pairs between a parent and a child it is about to
// start: the control socket and the link through which sharing handles travel.
package sockpair

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// New returns the two ends of a stream socket pair named name, both close-on-exec (the child
// gets its end as an inherited file): the parent's non-blocking, so that the runtime's poller
// waits on it, the child's blocking, as a child expects what it inherits.
func New(name string) (parent, child *os.File, err error) {
	syscall.ForkLock.RLock() // no process may start between the socket's making and its close-on-exec
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, fmt.Errorf("multiproc: socketpair: %w", err)
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		unix.Close(fds[1])
		return nil, nil, fmt.Errorf("multiproc: socketpair: %w", err)
	}
	return os.NewFile(uintptr(fds[0]), name), os.NewFile(uintptr(fds[1]), name+"-child"), nil
}
