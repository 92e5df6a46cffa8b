// Package peermem copies large values straight between the memory of a parent and its
// worker, and checks that the parent can (the table through which they agree on where is
// wire.PeerTable).
//
// A value sent through the rings is copied twice (into the ring, out of it) and travels in
// pieces, each side waiting for the other around every piece: an 8 MiB slice costs several
// milliseconds of two CPUs. process_vm_readv and process_vm_writev copy it once, in the
// kernel, with no waiting between the two processes. Only the parent calls them: a parent may
// read and write its children's memory wherever another process may not (Yama's
// ptrace_scope 1 allows it to ancestors only), and the parent checks once, when a worker
// starts, that it can (see Probe); if not, values travel through the rings as before.
//
// The parent writes a task's large input into a buffer the worker has put up for it
// (wire.PeerTable.Claim): the copy is made when the task is sent, as a copy into the ring is,
// so the caller may reuse the slice once the call has returned, even a cancelled call. The parent
// reads a large output from where the worker's function left it (Read): the worker keeps the
// slice until the parent says, through the table, that it has read the frame that named it.
package peermem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"unsafe"

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

// token is a random word a worker names in its hello, for its parent to read back (Probe).
// It only has to be unlikely to be found at that address in another process: math/rand's
// generator, seeded by the runtime, is enough, and unlike crypto/rand it adds nothing to a
// worker's start-up.
var token = func() *uint64 {
	t := rand.Uint64() | 1 // never 0: 0 says "no token"
	return &t
}()

// Token returns the address and the value of this process's token.
func Token() (addr, value uint64) {
	return uint64(uintptr(unsafe.Pointer(token))), *token
}

// Probe reports whether this process can read process pid's memory: whether the word at addr
// there holds value. Permission to read is permission to write (both need the right to
// trace pid), so a true answer covers Write too.
func Probe(pid int, addr, value uint64) bool {
	if addr == 0 || value == 0 {
		return false
	}
	var got [8]byte
	if Read(pid, got[:], addr) != nil {
		return false
	}
	return binary.LittleEndian.Uint64(got[:]) == value
}
