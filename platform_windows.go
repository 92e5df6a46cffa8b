package multiproc

import (
	"errors"
	"fmt"
)

// errWindows is what NewPool, Start and every other constructor return on Windows.
var errWindows = fmt.Errorf("multiproc: Windows is not supported yet: run the work in "+
	"goroutines there: %w", errors.ErrUnsupported)

// unsupported reports what this system cannot do of what c asks: here, anything.
func (c *config) unsupported() error { return errWindows }

// sharingUnsupported is what every constructor of a shared object returns here.
func sharingUnsupported() error { return errWindows }
