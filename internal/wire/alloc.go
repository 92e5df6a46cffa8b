package wire

// NewBuffer returns a new slice of n bytes, resident, for a read or a copy to fill. Fresh
// memory from the kernel is not zeroed again by Go, and its pages are faulted in with one
// system call (see prefault) rather than one fault per page as the copy reaches them.
//
// Memory the heap has used before is zeroed by make, a pass the copy would make unneeded; Go
// has no sound way to skip it (strings.Builder allocates without zeroing, but its buffer is
// immutable once reached through a string).
func NewBuffer(n int) []byte {
	b := make([]byte, n)
	prefault(b)
	return b
}
