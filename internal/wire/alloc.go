package wire

import (
	"strings"
	"unsafe"
)

// Unzeroed returns a new slice of n bytes, for a buffer a read or a copy is about to fill.
func Unzeroed(n int) []byte { return unzeroed(n) }

// Prefault makes the pages of b resident at once (see prefault).
func Prefault(b []byte) { prefault(b) }

// unzeroed returns a new slice of n bytes whose contents are whatever the memory held: the
// caller must write all of them before anyone reads them. A payload buffer is filled by the
// read right after, and zeroing it first is a pass over memory for nothing. On warm memory
// the pass is cheap (BenchmarkReadPayload shows no difference), but a parent collecting
// large results gets memory it has not touched lately, where on this project's VM the first
// pass costs about as much as the read: in an identity Map of 8 MiB slices, zeroing was 18%
// of the parent's CPU samples, and dropping it took the throughput from 1.21-1.48 to
// 1.46-1.63 GB/s (3 runs each).
//
// Go has no API for such memory, but strings.Builder.Grow allocates without zeroing. The
// builder's buffer is reached through the string it returns, and used only if two strings
// taken from it share their memory, so that an implementation that copied in String, or
// zeroed in Grow, would only cost the zeroing this saves.
func unzeroed(n int) []byte {
	if n < 2 {
		return make([]byte, n)
	}
	var sb strings.Builder
	sb.Grow(n)
	sb.WriteByte(0)
	first := sb.String()
	sb.WriteByte(0)
	second := sb.String()
	if sb.Cap() < n || unsafe.StringData(first) != unsafe.StringData(second) {
		return make([]byte, n)
	}
	// The builder and its strings are dropped here: the memory is the caller's alone.
	return unsafe.Slice(unsafe.StringData(second), n)
}
