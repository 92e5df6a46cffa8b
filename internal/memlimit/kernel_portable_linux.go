//go:build multiproc_portable

package memlimit

// kernelLimits says whether the Limiter may use the kernel's limits (a cgroup, RLIMIT_DATA).
// The portable build (the tag multiproc_portable) does without them, as macOS and FreeBSD
// would have to: only the watchdog enforces the limit there.
const kernelLimits = false
