package multiproc

// unsupported reports what this system cannot do of what c asks: on Linux, nothing.
func (c *config) unsupported() error { return nil }

// sharingUnsupported reports why shared objects cannot be made here: on Linux, they can.
func sharingUnsupported() error { return nil }
