//go:build unix && !linux

package handle

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// recvmsg receives and marks the descriptors close-on-exec; holding syscall.ForkLock meanwhile
// keeps them out of a process started at that moment.
func recvmsg(fd int, p, oob []byte) (n, oobn int, err error) {
	syscall.ForkLock.RLock()
	defer syscall.ForkLock.RUnlock()
	n, oobn, _, _, err = unix.Recvmsg(fd, p, oob, 0)
	if oobn > 0 {
		if msgs, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil {
			for _, m := range msgs {
				fds, _ := unix.ParseUnixRights(&m)
				for _, d := range fds {
					unix.CloseOnExec(d)
				}
			}
		}
	}
	return n, oobn, err
}
