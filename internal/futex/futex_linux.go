//go:build linux && !multiproc_portable

package futex

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Mechanism names the implementation in force.
const Mechanism = "futex"

const (
	opWait = 0 // FUTEX_WAIT, shared between processes
	opWake = 1 // FUTEX_WAKE, shared between processes
)

func wait(addr *uint32, val uint32, timeout time.Duration) {
	ts := unix.NsecToTimespec(int64(timeout))
	// EAGAIN (the word changed), EINTR and ETIMEDOUT all mean: look again.
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), opWait, uintptr(val),
		uintptr(unsafe.Pointer(&ts)), 0, 0)
}

func wake(addr *uint32, n int) {
	unix.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(addr)), opWake, uintptr(n), 0, 0, 0)
}
