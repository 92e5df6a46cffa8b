//go:build unix && !linux

package multiproc

import "runtime"

// unsupported reports what this system cannot do of what c asks. Without /proc there is no
// cheap way to read a worker's resident memory, and without cgroups or a working RLIMIT_DATA
// nothing else bounds it: MemoryLimit and MaxWorkerMemory are refused rather than ignored.
func (c *config) unsupported() error {
	switch {
	case c.memoryLimit > 0:
		return invalid("MemoryLimit is not supported on %s: only Linux can measure a worker's memory", runtime.GOOS)
	case c.maxMemory > 0:
		return invalid("MaxWorkerMemory is not supported on %s: only Linux can measure a worker's memory", runtime.GOOS)
	}
	return nil
}

// sharingUnsupported reports why shared objects cannot be made here: they can (an unlinked
// file stands in for memfd).
func sharingUnsupported() error { return nil }
