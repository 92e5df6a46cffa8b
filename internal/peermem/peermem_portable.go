//go:build !linux || multiproc_portable

package peermem

import (
	"errors"
	"fmt"
	"runtime"
)

// errNoCalls: this system has no process_vm_readv/process_vm_writev.
var errNoCalls = fmt.Errorf("peermem: no copies between processes on %s: %w", runtime.GOOS,
	errors.ErrUnsupported)

// Read fails here: see the package documentation.
func Read(pid int, dst []byte, addr uint64) error { return errNoCalls }

// Write fails here: see the package documentation.
func Write(pid int, addr uint64, src []byte) error { return errNoCalls }
