//go:build unix

package shm

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// Map maps size bytes of the shared memory open at fd, readable and writable, shared with
// every other process that maps it. The mapping does not hold fd open: fd may be closed
// once Map has returned.
func Map(fd int, size int) ([]byte, error) {
	if size <= 0 {
		return nil, fmt.Errorf("shm: cannot map %d bytes", size)
	}
	b, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("shm: mapping %d bytes: %w", size, err)
	}
	return b, nil
}

// Unmap removes a mapping made by Map. b must be the very slice Map returned.
func Unmap(b []byte) error {
	if err := unix.Munmap(b); err != nil {
		return fmt.Errorf("shm: unmapping: %w", err)
	}
	return nil
}

// Size returns the size in bytes of the shared memory open at fd, as Create made it.
func Size(fd int) (int64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return 0, fmt.Errorf("shm: %w", err)
	}
	return st.Size, nil
}
