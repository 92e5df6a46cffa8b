package multiproc

import (
	"unsafe"

	"github.com/multiproc/multiproc/internal/wire"
)

// prefaultMin is the smallest slice worth a system call to make its pages resident at once.
const prefaultMin = 256 << 10

// prefaulted returns s with its pages made resident by one system call (wire.Prefault), when
// it is large: a slice of fresh memory that is then filled page by page takes a fault per
// page, which on a VM costs more than the filling (see docs/PERFORMANCE.md, "The first call").
func prefaulted[T any](s []T) []T {
	var zero T
	if n := uintptr(len(s)) * unsafe.Sizeof(zero); n >= prefaultMin {
		wire.Prefault(unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), n))
	}
	return s
}
