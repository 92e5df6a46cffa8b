//go:build !linux

package wire

// prefault does nothing where MADV_POPULATE_WRITE does not exist: pages fault in as the
// read fills them.
func prefault(b []byte) {}
