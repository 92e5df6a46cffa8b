package wire

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// prefaultSpan is how many pages prefault looks at with one mincore call.
const prefaultSpan = 1024

// prefault makes the pages of b resident before a read fills them. A buffer of fresh memory
// from the kernel otherwise takes a page fault per 4 KiB page as the read copies into it,
// which costs more than the copy (BenchmarkFreshBuffer).
//
// Memory the heap hands out again is resident already (make zeroed it), and advising it
// would still walk every page (BenchmarkFreshBuffer/reused): so each span of pages is first
// looked at with mincore, a few microseconds, and advised only if a page of it is missing.
// MADV_POPULATE_WRITE needs Linux 5.14; on older kernels the advice does nothing.
func prefault(b []byte) {
	const page = 4096
	p := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	head := int((page - p%page) % page)       // bytes before the first whole page
	tail := int((p + uintptr(len(b))) % page) // bytes after the last whole page
	if len(b)-head-tail < page {
		return
	}
	pages := b[head : len(b)-tail] // only b's own pages
	var vec [prefaultSpan]byte
	for len(pages) > 0 {
		span := pages[:min(len(pages), prefaultSpan*page)]
		pages = pages[len(span):]
		if !resident(span, vec[:len(span)/page]) {
			unix.Madvise(span, unix.MADV_POPULATE_WRITE)
		}
	}
}

// resident reports whether every page of span (page-aligned, one byte of vec per page) is
// in memory; on an error it reports false.
func resident(span, vec []byte) bool {
	_, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(span))),
		uintptr(len(span)), uintptr(unsafe.Pointer(unsafe.SliceData(vec))))
	if errno != 0 {
		return false
	}
	for _, v := range vec {
		if v&1 == 0 {
			return false
		}
	}
	return true
}
