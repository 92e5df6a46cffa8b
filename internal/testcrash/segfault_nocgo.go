//go:build !cgo

package testcrash

import "unsafe"

// Segfault writes to an address no process has mapped. Without cgo the fault is in Go code;
// at an address that is not nil's, the runtime does not make it a panic but ends the process
// with "unexpected fault address" and SIGSEGV, as it does for a fault in C.
func Segfault() {
	*(*int)(unsafe.Add(unsafe.Pointer(nil), 0xdead0000)) = 42
}
