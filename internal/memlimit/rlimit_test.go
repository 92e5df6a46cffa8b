//go:build linux && !multiproc_portable

package memlimit

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"
)

// A child that applies RLIMIT_DATA and the GC limit itself (as a worker does through EnvVar)
// and then tries to use 2 GiB under 256 MiB dies of the Go runtime's out-of-memory error, fast.
func TestRlimitStopsHog(t *testing.T) {
	t.Parallel()
	env := WithEnv(nil, MechanismRlimit, testLimit)
	c := startChild(t, "hog", hogBytes, env, nil)
	ws := c.wait(t, time.Minute)
	elapsed := time.Since(c.start)
	if ws.Exited() && ws.ExitStatus() == 0 {
		t.Fatalf("the child used %d MiB under a %d MiB limit and survived", hogBytes/mib, testLimit/mib)
	}
	d := c.death(ws)
	// Under -race the race detector's runtime usually runs out first (status 66).
	wantCode := exitGoFatal
	if raceEnabled && d.ExitCode == exitRace {
		wantCode = exitRace
	}
	if d.ExitCode != wantCode || !d.StderrOOM {
		t.Fatalf("child ended with %+v, want exit status %d and an out-of-memory message; stderr:\n%s",
			d, wantCode, c.stderr.Tail(3000))
	}
	if !d.MemoryLimit() {
		t.Errorf("Death %+v: MemoryLimit() = false, want true", d)
	}
	t.Logf("2 GiB under a 256 MiB RLIMIT_DATA+GOMEMLIMIT: exit status %d after %v (start included)", d.ExitCode, elapsed)
}

// ApplyInWorker sets RLIMIT_DATA to the limit plus what was mapped at the time, keeps a lower
// limit in force, and sets the GC limit; SetRlimit sets exactly the limit from outside.
func TestApplyInWorkerLimits(t *testing.T) {
	t.Parallel()
	env := WithEnv(nil, MechanismRlimit, testLimit)
	c := startChild(t, "steady", 8*mib, env, nil)
	c.expectLine(t, "ready", time.Minute)
	pid := c.cmd.Process.Pid
	soft, hard := dataLimit(t, pid)
	if soft != hard || soft <= testLimit || soft > testLimit+1024*mib {
		t.Errorf("child's RLIMIT_DATA = %d/%d, want soft = hard just above %d", soft, hard, testLimit)
	}
	t.Logf("RLIMIT_DATA for a %d MiB limit: %d MiB (allowance %.1f MiB)", testLimit/mib, soft/mib, float64(soft-testLimit)/mib)

	// Lowered, but not below what the child has mapped already (the allowance): under a
	// limit below that, its runtime's next mapping (a GC, under -race and load) fails, and it
	// dies of a fatal error.
	lower := soft - testLimit/2
	if err := SetRlimit(pid, lower); err != nil {
		t.Fatal(err)
	}
	if soft, hard := dataLimit(t, pid); soft != lower || hard != lower {
		t.Errorf("after SetRlimit: RLIMIT_DATA = %d/%d, want %d", soft, hard, lower)
	}
	if err := SetRlimit(pid, 0); err == nil {
		t.Error("SetRlimit(pid, 0) = nil, want an error")
	}
	if err := ApplyInWorker(-1); err == nil {
		t.Error("ApplyInWorker(-1) = nil, want an error")
	}
	c.stdin.Close()
	if ws := c.wait(t, time.Minute); ws.ExitStatus() != 0 {
		t.Errorf("child exited with %v; stderr:\n%s", ws, c.stderr.Tail(2000))
	}
	if !bytes.Contains([]byte(c.stderr.Tail(4096)), []byte("mechanism rlimit+watchdog")) {
		t.Errorf("child did not report the mechanism from %s; stderr:\n%s", EnvVar, c.stderr.Tail(2000))
	}
}

// dataLimit reads "Max data size" of /proc/PID/limits.
func dataLimit(t *testing.T, pid int) (soft, hard int64) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range bytes.Lines(b) {
		if rest, ok := bytes.CutPrefix(line, []byte("Max data size")); ok {
			f := bytes.Fields(rest)
			soft, _ = strconv.ParseInt(string(f[0]), 10, 64)
			hard, _ = strconv.ParseInt(string(f[1]), 10, 64)
			return soft, hard
		}
	}
	t.Fatalf("no Max data size in /proc/%d/limits", pid)
	return 0, 0
}

func TestParseStatusKB(t *testing.T) {
	status := []byte("Name:\tx\nVmPeak:\t 1227184 kB\nVmData:\t   40672 kB\nVmStk:\t 132 kB\n")
	if got, err := parseStatusKB(status, "VmData:"); err != nil || got != 40672<<10 {
		t.Errorf("parseStatusKB(VmData) = %d, %v; want %d", got, err, 40672<<10)
	}
	if _, err := parseStatusKB(status, "VmSwap:"); err == nil {
		t.Error("parseStatusKB of a missing key: want an error")
	}
	if _, err := selfDataSize(); err != nil {
		t.Errorf("selfDataSize: %v", err)
	}
}
