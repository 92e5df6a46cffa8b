//go:build unix

package shmqueue

import (
	"os"

	"golang.org/x/sys/unix"
)

// Region is shared memory for the tests: an unlinked file mapped by the test and by the
// processes it starts (as their fd 3).
type Region struct {
	File *os.File
	Mem  []byte
}

func NewRegion(size int) (*Region, error) {
	f, err := os.CreateTemp("", "shmqueue-test-*")
	if err != nil {
		return nil, err
	}
	os.Remove(f.Name())
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		return nil, err
	}
	return mapRegion(f, size)
}

func OpenRegion(f *os.File) (*Region, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return mapRegion(f, int(st.Size()))
}

func mapRegion(f *os.File, size int) (*Region, error) {
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Region{File: f, Mem: mem}, nil
}

func (r *Region) Close() error {
	unix.Munmap(r.Mem)
	return r.File.Close()
}
