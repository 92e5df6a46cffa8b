//go:build !multiproc_portable

package memlimit

// What a Limiter uses without a cgroup, and why it has none when told not to use one.
const (
	fallbackMechanism = MechanismRlimit
	fallbackCgroupErr = "not asked for"
)
