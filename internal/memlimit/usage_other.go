//go:build !linux

package memlimit

// RSS returns an error wrapping errors.ErrUnsupported: without /proc there is no cheap way to
// read another process's resident memory.
func RSS(pid int) (int64, error) { return 0, errUnsupported }
