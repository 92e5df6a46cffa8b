package peermem

import (
	"encoding/binary"
	"math/rand/v2"
	"unsafe"
)

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
