//go:build linux

package procid

import (
	"os"

	"golang.org/x/sys/unix"
)

// OnExit calls wake, on a goroutine of its own, when the process id ends (at once if it has),
// until stop is called; a call after stop is possible but harmless to wake's callers, who look
// again. It waits in the runtime's poller on a pidfd of the process: a waiter learns of a death
// within a fraction of a millisecond instead of at its next look. ok is false where there is
// no pidfd (then the caller keeps looking with Alive).
func OnExit(id ID, wake func()) (stop func(), ok bool) {
	fd, err := unix.PidfdOpen(id.Pid(), unix.PIDFD_NONBLOCK)
	if err != nil {
		if err == unix.ESRCH {
			go wake()
			return func() {}, true
		}
		return nil, false
	}
	// The pid might have been reused: the pidfd must name the process that started when id says.
	if tag, ok := startTag(id.Pid()); !ok || tag != uint32(id) {
		unix.Close(fd)
		go wake()
		return func() {}, true
	}
	f := os.NewFile(uintptr(fd), "pidfd")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, false
	}
	go func() {
		// Read calls the function until it returns true, waiting for the pidfd to be readable
		// (the process has ended) between calls; Close ends it with an error.
		if rc.Read(func(fd uintptr) bool { return exited(int(fd)) }) == nil {
			wake()
		}
	}()
	return func() { f.Close() }, true
}
