//go:build !linux

package shmqueue

import (
	"fmt"
	"os"
)

// newFile makes a file of size bytes of zeroed memory, removed from the filesystem at once.
func newFile(size int) (*os.File, error) {
	f, err := os.CreateTemp("", "multiproc-queue-*")
	if err != nil {
		return nil, fmt.Errorf("shmqueue: %w", err)
	}
	os.Remove(f.Name())
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		return nil, fmt.Errorf("shmqueue: sizing shared memory: %w", err)
	}
	return f, nil
}
