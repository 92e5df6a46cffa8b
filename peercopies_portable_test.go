//go:build !linux || multiproc_portable

package multiproc

// peerCopies says whether large values may travel outside the frames (internal/peermem):
// not without process_vm_readv and process_vm_writev.
const peerCopies = false
