//go:build unix

package multiproc

// WithRingsOnly, for the external tests, keeps large values in the frames.
var WithRingsOnly = withRingsOnly
