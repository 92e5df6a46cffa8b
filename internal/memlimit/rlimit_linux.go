package memlimit

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// ApplyInWorker limits the calling process to about limit bytes: it lowers RLIMIT_DATA (soft
// and hard, so task code cannot raise it again without CAP_SYS_RESOURCE) and sets the GC
// memory limit to GCFraction of limit (see SetGCLimit).
//
// RLIMIT_DATA is set to limit plus the private address space the process has mapped already
// (VmData in /proc/self/status). Most of that is the Go heap arena index, 32 MiB of address
// space that is never resident; without the allowance the worker would die about 33 MiB short
// of its limit. Call it early, before the process has allocated much.
//
// Limits already lower than that are kept (a nested worker inherits its parent worker's
// rlimit). When the Go heap then needs to grow past the limit, mmap fails and the runtime
// aborts with "fatal error: runtime: out of memory" and exit status 2.
func ApplyInWorker(limit int64) error {
	if err := checkLimit(limit); err != nil {
		return err
	}
	want := limit
	if base, err := selfDataSize(); err == nil && base < math.MaxInt64-want {
		want += base
	}
	var cur unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_DATA, &cur); err != nil {
		return fmt.Errorf(errPrefix+"getrlimit RLIMIT_DATA: %w", err)
	}
	next := unix.Rlimit{Cur: min(cur.Cur, uint64(want)), Max: min(cur.Max, uint64(want))}
	if err := unix.Setrlimit(unix.RLIMIT_DATA, &next); err != nil {
		return fmt.Errorf(errPrefix+"setrlimit RLIMIT_DATA %d: %w", want, err)
	}
	SetGCLimit(limit)
	return nil
}

// SetRlimit sets RLIMIT_DATA of process pid to exactly limit bytes (soft and hard) from the
// outside, with prlimit(2). It is the parent-side alternative to ApplyInWorker for a child that
// does not apply its own limit; the child runs unlimited between its start and this call, and
// gets no allowance for the address space it has mapped already. Raising a hard limit needs
// CAP_SYS_RESOURCE.
func SetRlimit(pid int, limit int64) error {
	if err := checkLimit(limit); err != nil {
		return err
	}
	l := unix.Rlimit{Cur: uint64(limit), Max: uint64(limit)}
	if err := unix.Prlimit(pid, unix.RLIMIT_DATA, &l, nil); err != nil {
		return fmt.Errorf(errPrefix+"prlimit %d RLIMIT_DATA %d: %w", pid, limit, err)
	}
	return nil
}

// selfDataSize returns the calling process's VmData in bytes: the private writable address
// space that RLIMIT_DATA counts.
func selfDataSize() (int64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	return parseStatusKB(b, "VmData:")
}

// parseStatusKB returns the value of a "Key:   1234 kB" line of /proc/PID/status in bytes.
func parseStatusKB(status []byte, key string) (int64, error) {
	for line := range bytes.Lines(status) {
		rest, ok := bytes.CutPrefix(line, []byte(key))
		if !ok {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) != 2 || string(f[1]) != "kB" {
			break
		}
		kb, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf(errPrefix+"parsing %s%s: %w", key, rest, err)
		}
		return kb << 10, nil
	}
	return 0, fmt.Errorf(errPrefix+"no %s kB line in /proc status", key)
}
