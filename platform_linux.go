package multiproc

// unsupported reports what this system cannot do of what c asks: on Linux, nothing.
func (c *config) unsupported() error { return nil }
