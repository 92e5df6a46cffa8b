package handle

import "golang.org/x/sys/unix"

// recvmsg receives with the descriptors close-on-exec from the start.
func recvmsg(fd int, p, oob []byte) (n, oobn int, err error) {
	n, oobn, _, _, err = unix.Recvmsg(fd, p, oob, unix.MSG_CMSG_CLOEXEC)
	return n, oobn, err
}
