//go:build !multiproc_portable

package shm

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Kind names the mechanism behind Create: "memfd" on Linux, "file" elsewhere.
const Kind = "memfd"

// Create makes a shared memory object of size bytes, filled with zeroes, and returns it
// open for reading and writing, close-on-exec (pass it to a child explicitly). name labels it
// for people (here, in /proc/PID/maps as /memfd:name); it is no name anyone can open.
func Create(name string, size int) (*os.File, error) {
	if size <= 0 {
		return nil, fmt.Errorf("shm: cannot create %d bytes", size)
	}
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("shm: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), name)
	if err := f.Truncate(int64(size)); err != nil {
		f.Close()
		return nil, fmt.Errorf("shm: sizing %s to %d bytes: %w", name, size, err)
	}
	return f, nil
}
