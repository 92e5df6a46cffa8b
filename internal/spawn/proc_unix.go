//go:build unix

package spawn

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/multiproc/multiproc/internal/sockpair"
)

// socketPair returns the two ends of a control socket (see sockpair.New).
func socketPair() (parent, child *os.File, err error) { return sockpair.New("multiproc-conn") }

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
