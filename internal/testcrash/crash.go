// Package testcrash crashes the process in the ways a worker can die that Go code cannot
// recover from: a segfault in C code and a Go fatal error. Tests use it to check that such a
// death fails only the task that caused it.
package testcrash

import "runtime/debug"

// StackOverflow ends the process with Go's "fatal error: stack overflow".
func StackOverflow() {
	debug.SetMaxStack(1 << 20)
	recurse(0)
}

// recurse never returns: it grows the stack until the runtime gives up.
//
//go:noinline
func recurse(n int) int {
	var pad [256]byte
	pad[n%256] = byte(n)
	return recurse(n+1) + int(pad[0])
}
