package multiproc

import "errors"

// Stand-ins for the sentinels of shared objects, until they land with them.
var (
	ErrClosed = errors.New("multiproc: closed")
	ErrFull   = errors.New("multiproc: queue full")
	ErrEmpty  = errors.New("multiproc: queue empty")
)
