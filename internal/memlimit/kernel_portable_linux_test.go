//go:build multiproc_portable

package memlimit

// What a Limiter uses without a cgroup, and why it has none: the portable build never uses one.
const (
	fallbackMechanism = MechanismWatchdog
	fallbackCgroupErr = "portable build"
)
