package memlimit

import (
	"bytes"
	"strings"
	"sync"
	"syscall"
)

// Death is what is known about how a worker process ended, for telling whether it was the
// memory limit. Fill in what you know; Guard.Exited fills in KilledByWatchdog, OOMKills and
// StderrOOM itself.
type Death struct {
	ExitCode int            // the exit status, -1 when a signal ended it
	Signal   syscall.Signal // the signal that ended it, 0 when it exited
	Stderr   string         // the end of what it wrote to stderr

	// KilledByWatchdog: our Watchdog reported it over its limit (and we killed it).
	KilledByWatchdog bool
	// OOMKills: the oom_kill count of its cgroup's memory.events (0 without a cgroup).
	OOMKills int64
	// StderrOOM: an OOMScanner saw the runtime's out-of-memory message in its stderr. The
	// message comes before a dump of every goroutine, so the end of stderr may not show it.
	StderrOOM bool
}

// MemoryLimit reports whether the process died because of its memory limit:
//   - the Watchdog reported it (we sent the SIGKILL);
//   - it was killed by SIGKILL and the OOM killer killed in its cgroup (memory.oom.group kills
//     the whole group, so the worker dies even when a process of its task was the one over);
//   - it exited with status 2, the Go runtime's fatal error, after printing the runtime's
//     out-of-memory message, which is how a Go worker dies when RLIMIT_DATA refuses heap growth;
//     or, in a binary built with -race, with status 66 after the race detector's runtime
//     (ThreadSanitizer) failed to map its shadow memory, which then usually fails first.
func (d Death) MemoryLimit() bool {
	switch {
	case d.KilledByWatchdog:
		return true
	case d.OOMKills > 0 && d.Signal == syscall.SIGKILL:
		return true
	case (d.ExitCode == exitGoFatal || d.ExitCode == exitRace) && (d.StderrOOM || hasOOMMessage(d.Stderr)):
		return true
	}
	return false
}

const (
	exitGoFatal = 2  // the Go runtime's exit status after a fatal error
	exitRace    = 66 // ThreadSanitizer's exit status (its exitcode option's default)
)

// The messages a process prints when the OS refuses it memory: the Go runtime's when mapping
// more heap fails, and when it cannot map its arena index or metadata at all; and the race
// detector runtime's when it cannot map shadow memory.
const (
	oomGoHeap   = "fatal error: runtime: out of memory"
	oomGoArena  = "fatal error: out of memory"
	oomRaceMmap = "ThreadSanitizer failed to allocate"
)

var oomMessages = [...]string{oomGoHeap, oomGoArena, oomRaceMmap}

// oomMessageBytes are oomMessages as byte slices, made once so that Write does not allocate.
var oomMessageBytes = func() (b [len(oomMessages)][]byte) {
	for i, m := range oomMessages {
		b[i] = []byte(m)
	}
	return b
}()

// oomCarry is the longest message less one: how much of one Write an OOMScanner keeps to find a
// message split across two writes.
const oomCarry = max(len(oomGoHeap), len(oomGoArena), len(oomRaceMmap)) - 1

func hasOOMMessage(s string) bool {
	for _, m := range oomMessages {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// An OOMScanner is an io.Writer that watches a stream, typically a worker's stderr, for the Go
// runtime's out-of-memory message, wherever it is and however the writes split it. Tee the
// stream through it (io.MultiWriter) and ask Found when the worker has died. Write never fails
// and does not allocate. It is safe for concurrent use.
type OOMScanner struct {
	mu    sync.Mutex
	found bool
	carry [oomCarry]byte // the last bytes seen, up to oomCarry of them
	n     int            // bytes of carry in use
}

// Write scans p; it always returns len(p), nil.
func (s *OOMScanner) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.found || len(p) == 0 {
		return len(p), nil
	}
	// A message split across writes lies within the carried tail and the head of p.
	var joint [2 * oomCarry]byte
	k := copy(joint[:], s.carry[:s.n])
	k += copy(joint[k:], p[:min(len(p), oomCarry)])
	if containsOOM(joint[:k]) || containsOOM(p) {
		s.found = true
		return len(p), nil
	}
	// Keep the last oomCarry bytes of carry+p.
	if len(p) >= oomCarry {
		s.n = copy(s.carry[:], p[len(p)-oomCarry:])
	} else {
		keep := min(s.n, oomCarry-len(p))
		copy(s.carry[:], s.carry[s.n-keep:s.n])
		s.n = keep + copy(s.carry[keep:], p)
	}
	return len(p), nil
}

// Found reports whether the message has been seen.
func (s *OOMScanner) Found() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.found
}

func containsOOM(b []byte) bool {
	for _, m := range oomMessageBytes {
		if bytes.Contains(b, m) {
			return true
		}
	}
	return false
}
