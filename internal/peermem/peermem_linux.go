//go:build !multiproc_portable

package peermem

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Read copies len(dst) bytes of process pid's memory at addr into dst.
func Read(pid int, dst []byte, addr uint64) error {
	return copyWith(unix.ProcessVMReadv, "reading", pid, dst, addr)
}

// Write copies src into process pid's memory at addr.
func Write(pid int, addr uint64, src []byte) error {
	return copyWith(unix.ProcessVMWritev, "writing", pid, src, addr)
}

// copyWith copies between local and process pid's memory at addr with op, which may copy
// less than asked (it stops at a page it cannot reach, or at a signal): it goes on from there.
func copyWith(op func(int, []unix.Iovec, []unix.RemoteIovec, uint) (int, error), verb string,
	pid int, local []byte, addr uint64) error {
	for len(local) > 0 {
		iov := []unix.Iovec{{Base: &local[0]}}
		iov[0].SetLen(len(local))
		remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(local)}}
		n, err := op(pid, iov, remote, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return fmt.Errorf("peermem: %s %d bytes of process %d: %w", verb, len(local), pid, err)
		}
		if n == 0 {
			return fmt.Errorf("peermem: %s process %d: no bytes copied", verb, pid)
		}
		local = local[n:]
		addr += uint64(n)
	}
	return nil
}
