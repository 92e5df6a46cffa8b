//go:build !unix

package shm

import (
	"errors"
	"fmt"
	"os"
	"runtime"
)

// Kind names the mechanism behind Create: none here.
const Kind = ""

var errUnsupported = fmt.Errorf("shm: shared memory is not supported on %s yet: %w",
	runtime.GOOS, errors.ErrUnsupported)

// Create returns an error wrapping errors.ErrUnsupported.
func Create(name string, size int) (*os.File, error) { return nil, errUnsupported }

// Map returns an error wrapping errors.ErrUnsupported.
func Map(fd int, size int) ([]byte, error) { return nil, errUnsupported }

// Unmap returns an error wrapping errors.ErrUnsupported.
func Unmap(b []byte) error { return errUnsupported }

// Size returns an error wrapping errors.ErrUnsupported.
func Size(fd int) (int64, error) { return 0, errUnsupported }
