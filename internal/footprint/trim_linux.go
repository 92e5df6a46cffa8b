package footprint

import (
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Trim drops the process's resident pages of its code and read-only data. Call it once,
// when the process has started and before it waits for work: see the package
// documentation for which mappings, and why this is safe. It costs one read of
// /proc/self/smaps and one madvise per mapping (1-2 ms together on the 2-core VM), then a
// minor fault for each 64 KiB the process uses again.
//
// It does nothing when /proc cannot be read: a worker that keeps its pages works as before.
func Trim() {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return
	}
	spans, err := droppable(f)
	f.Close()
	if err != nil {
		return // smaps not read to its end: drop nothing rather than guess
	}
	for _, s := range spans {
		// An error (a mapping locked or gone since smaps was read) leaves it as it was.
		unix.Madvise(s.memory(), unix.MADV_DONTNEED)
	}
}

// memory returns the span as a slice for unix.Madvise. The memory is a file mapping made by
// the kernel, not an object of the Go heap, so the garbage collector has nothing to track.
func (s span) memory() []byte {
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(nil), s.lo)), s.hi-s.lo)
}
