//go:build !multiproc_portable

package multiproc

// peerCopies says whether large values may travel outside the frames (internal/peermem).
const peerCopies = true
