//go:build unix

package handle

import (
	"unsafe"

	"github.com/multiproc/multiproc/internal/shm"

	"golang.org/x/sys/unix"
)

// retireMapping replaces the mapping mem with one of the same range that allows no access:
// the shared memory is no longer mapped here, and the range stays reserved.
func retireMapping(mem []byte) {
	if len(mem) == 0 {
		return
	}
	_, err := unix.MmapPtr(-1, 0, unsafe.Pointer(unsafe.SliceData(mem)), uintptr(len(mem)),
		unix.PROT_NONE, unix.MAP_PRIVATE|unix.MAP_ANON|unix.MAP_FIXED)
	if err != nil {
		shm.Unmap(mem)
	}
}
