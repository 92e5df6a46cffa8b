package shmqueue

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Region is shared memory mapped in this process, and the file that holds it, which other
// processes map to share it.
type Region struct {
	File *os.File
	Mem  []byte
}

// NewRegion makes size bytes of zeroed shared memory.
func NewRegion(size int) (*Region, error) {
	f, err := newFile(size)
	if err != nil {
		return nil, err
	}
	return mapFile(f, size)
}

// OpenRegion maps all of f, a file NewRegion made (in this process or another); the Region
// owns f from then on.
func OpenRegion(f *os.File) (*Region, error) {
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("shmqueue: %w", err)
	}
	return mapFile(f, int(st.Size()))
}

func mapFile(f *os.File, size int) (*Region, error) {
	mem, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("shmqueue: mapping shared memory: %w", err)
	}
	return &Region{File: f, Mem: mem}, nil
}

// Close unmaps the memory and closes the file. Nothing may touch the memory afterwards.
func (r *Region) Close() error {
	err := unix.Munmap(r.Mem)
	if cerr := r.File.Close(); err == nil {
		err = cerr
	}
	return err
}
