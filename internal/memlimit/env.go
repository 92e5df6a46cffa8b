package memlimit

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// Mechanism names the way a memory limit is enforced, for Stats and logs.
type Mechanism string

const (
	// MechanismNone: no memory limit is in force.
	MechanismNone Mechanism = ""
	// MechanismCgroup: a cgroup v2 per worker with memory.max; the kernel OOM-kills the worker.
	MechanismCgroup Mechanism = "cgroup"
	// MechanismRlimit: the worker's RLIMIT_DATA and GC limit, plus the parent's RSS watchdog.
	MechanismRlimit Mechanism = "rlimit+watchdog"
	// MechanismWatchdog: the worker's GC limit and the parent's RSS watchdog, nothing in the
	// kernel (the portable build: see kernelLimits).
	MechanismWatchdog Mechanism = "watchdog"
)

// String returns the mechanism's name, "none" for MechanismNone.
func (m Mechanism) String() string {
	if m == MechanismNone {
		return "none"
	}
	return string(m)
}

// EnvVar is the environment variable through which the parent tells a worker its limit.
// Its value is EnvValue's: the mechanism, a colon, and the limit in bytes in decimal, e.g.
// "rlimit+watchdog:268435456". The worker reads it with ApplyFromEnv.
const EnvVar = "MULTIPROC_MEMORY_LIMIT"

// GCFraction is the share of the limit the worker's GC memory limit (GOMEMLIMIT) is set to, so
// that the collector returns memory before the hard limit is reached.
const GCFraction = 0.9

// errPrefix starts every error of the package, as os/exec's errors start with "exec: ".
const errPrefix = "memlimit: "

// EnvValue encodes a limit and the mechanism in force for EnvVar.
func EnvValue(m Mechanism, limit int64) string {
	return string(m) + ":" + strconv.FormatInt(limit, 10)
}

// ParseEnv decodes EnvVar's value.
func ParseEnv(v string) (Mechanism, int64, error) {
	i := strings.LastIndexByte(v, ':')
	if i < 0 {
		return MechanismNone, 0, fmt.Errorf(errPrefix+"malformed %s value %q", EnvVar, v)
	}
	m := Mechanism(v[:i])
	if m != MechanismCgroup && m != MechanismRlimit && m != MechanismWatchdog {
		return MechanismNone, 0, fmt.Errorf(errPrefix+"unknown mechanism in %s value %q", EnvVar, v)
	}
	limit, err := strconv.ParseInt(v[i+1:], 10, 64)
	if err != nil || limit <= 0 {
		return MechanismNone, 0, fmt.Errorf(errPrefix+"bad limit in %s value %q", EnvVar, v)
	}
	return m, limit, nil
}

// WithEnv returns env with EnvVar set for m and limit, and any earlier EnvVar entry removed.
// A nil env stands for os.Environ(), as it does in os/exec.Cmd: the result is never nil, so a
// worker started with it keeps the parent's environment.
func WithEnv(env []string, m Mechanism, limit int64) []string {
	if env == nil {
		env = os.Environ()
	}
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, EnvVar+"=") {
			out = append(out, kv)
		}
	}
	return append(out, EnvVar+"="+EnvValue(m, limit))
}

// ApplyFromEnv applies the limit the parent put in EnvVar, then removes EnvVar from the
// environment so that programs a task runs do not see it (they inherit the rlimit anyway).
// It returns MechanismNone and nil when EnvVar is not set. With MechanismRlimit it calls
// ApplyInWorker; with MechanismCgroup, where the kernel enforces the limit, and with
// MechanismWatchdog, where the parent does, it only sets the GC memory limit. A worker calls it first thing at startup.
func ApplyFromEnv() (Mechanism, error) {
	v, ok := os.LookupEnv(EnvVar)
	if !ok {
		return MechanismNone, nil
	}
	m, limit, err := ParseEnv(v)
	if err != nil {
		return MechanismNone, err
	}
	switch m {
	case MechanismCgroup, MechanismWatchdog:
		SetGCLimit(limit)
	case MechanismRlimit:
		if err := ApplyInWorker(limit); err != nil {
			return MechanismNone, err
		}
	}
	// Unset only once the limit holds: a worker that failed can still report what it was given.
	os.Unsetenv(EnvVar)
	return m, nil
}

// SetGCLimit sets the Go runtime's memory limit (what GOMEMLIMIT sets) to GCFraction of limit,
// unless a lower one is in force already (the user's own GOMEMLIMIT wins when it is stricter).
// It returns the GC limit now in force.
func SetGCLimit(limit int64) int64 {
	want := gcLimit(limit)
	if cur := debug.SetMemoryLimit(-1); cur < want {
		return cur
	}
	debug.SetMemoryLimit(want)
	return want
}

func gcLimit(limit int64) int64 {
	if limit <= 0 {
		return math.MaxInt64
	}
	return int64(float64(limit) * GCFraction)
}

// checkLimit rejects limits no mechanism can honour.
func checkLimit(limit int64) error {
	if limit <= 0 {
		return fmt.Errorf(errPrefix+"limit must be > 0, got %d", limit)
	}
	return nil
}

// errUnsupported is returned where the platform has no mechanism at all.
var errUnsupported = fmt.Errorf(errPrefix+"memory limits need Linux: %w", errors.ErrUnsupported)
