//go:build unix

package spawn

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// socketPair returns the two ends of a control socket, both close-on-exec: the parent's
// non-blocking (the runtime's poller waits on it), the child's blocking, as a child expects
// what it inherits.
func socketPair() (parent, child *os.File, err error) {
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
	return os.NewFile(uintptr(fds[0]), "multiproc-conn"), os.NewFile(uintptr(fds[1]), "multiproc-conn-child"), nil
}

// signalGroup sends sig to the process group pgid.
func signalGroup(pgid int, sig syscall.Signal) error { return unix.Kill(-pgid, sig) }

// readPipe reads from the pipe at fd without the runtime's poller.
func readPipe(fd int, p []byte) (int, error) { return syscall.Read(fd, p) }

// OpenConn returns a worker's end of its control socket, non-blocking so that the runtime's
// poller waits on it (passing it to the worker made it blocking), and starts watching the
// parent where the system will not kill a worker whose parent died (see watchParent).
func OpenConn() (*os.File, error) {
	if err := unix.SetNonblock(ConnFD, true); err != nil {
		return nil, fmt.Errorf("multiproc: control socket: %w", err)
	}
	watchParent()
	return os.NewFile(ConnFD, "multiproc-conn"), nil
}
