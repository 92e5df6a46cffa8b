//go:build linux

package procid

import (
	"sync"

	"golang.org/x/sys/unix"
)

// pidfds caches a pidfd for each process found alive: asking a pidfd whether its process has
// ended is one poll (about a microsecond), where reading /proc/PID/stat again costs tens. A
// process's entry goes once it is found dead; each new entry sweeps out those of processes
// that ended since.
var pidfds = struct {
	sync.Mutex
	fds map[ID]int
}{fds: make(map[ID]int)}

// exited reports whether the process of pidfd fd has ended.
func exited(fd int) bool {
	p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	n, err := unix.Poll(p, 0)
	return err == nil && n > 0
}

// aliveOther answers Alive for another process.
func aliveOther(id ID) bool {
	pidfds.Lock()
	fd, ok := pidfds.fds[id]
	pidfds.Unlock()
	if ok {
		if !exited(fd) {
			return true
		}
		forget(id, fd)
		return false
	}
	tag, ok := startTag(id.Pid())
	if !ok || tag != uint32(id) {
		return false
	}
	fd, err := unix.PidfdOpen(id.Pid(), 0)
	if err != nil {
		return true // no pidfd here: the answer of /proc stands
	}
	// The pid might have been reused between the two looks: the pidfd must name the process
	// that started when id says.
	if tag, ok := startTag(id.Pid()); !ok || tag != uint32(id) || exited(fd) {
		unix.Close(fd)
		return false
	}
	pidfds.Lock()
	defer pidfds.Unlock()
	if old, ok := pidfds.fds[id]; ok {
		unix.Close(fd)
		fd = old
	} else {
		for other, ofd := range pidfds.fds {
			if exited(ofd) {
				unix.Close(ofd)
				delete(pidfds.fds, other)
			}
		}
		unix.CloseOnExec(fd)
		pidfds.fds[id] = fd
	}
	return true
}

func forget(id ID, fd int) {
	pidfds.Lock()
	defer pidfds.Unlock()
	if pidfds.fds[id] == fd {
		delete(pidfds.fds, id)
		unix.Close(fd)
	}
}
