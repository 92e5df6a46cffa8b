//go:build cgo

package testcrash

/*
static void segfault(void) {
	volatile int *p = 0;
	*p = 42;
}
*/
import "C"

// Segfault dereferences a null pointer in C.
func Segfault() { C.segfault() }
