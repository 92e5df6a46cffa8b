// Package procid names a process in a way that outlives its pid: the pid together with the
// time the process started, so that a process that reuses the pid of a dead one is not taken
// for it. Shared objects record their owners that way, and a waiter that suspects an owner
// is gone asks Alive.
package procid

import (
	"os"
	"sync"
)

// ID is a process's identity: its pid in the high 32 bits, a tag taken from its start time
// in the low 32. The zero ID names no process.
type ID uint64

// Pid returns the process id.
func (id ID) Pid() int { return int(id >> 32) }

func newID(pid int, tag uint32) ID { return ID(uint64(uint32(pid))<<32 | uint64(tag)) }

var self = sync.OnceValue(func() ID {
	pid := os.Getpid()
	tag, _ := startTag(pid)
	return newID(pid, tag)
})

// Self returns the identity of the calling process.
func Self() ID { return self() }

// Alive reports whether the process id names still runs: it exists, is no zombie, and
// started when id says. Where start times cannot be read, a process with id's pid counts.
// On Linux the first answer for a process costs tens of microseconds (reads of /proc), the
// next ones about one (a poll of a pidfd kept for it while it lives).
func Alive(id ID) bool {
	if id == 0 {
		return false
	}
	if id == Self() {
		return true
	}
	return aliveOther(id)
}
