package shmqueue

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// newFile makes a file of size bytes of zeroed memory with no name in the filesystem.
func newFile(size int) (*os.File, error) {
	fd, err := unix.MemfdCreate("multiproc-queue", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("shmqueue: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "multiproc-queue")
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		f.Close()
		return nil, fmt.Errorf("shmqueue: sizing shared memory: %w", err)
	}
	return f, nil
}
