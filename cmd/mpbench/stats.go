//go:build unix

package main

import (
	"fmt"
	"os"
	"slices"
	"time"
)

// Summary is one implementation's figures for one metric: every rep's sample and
// their median, min and max. Tasks says how much work one rep did when the
// benchmark shrank it to stay within its time budget.
type Summary struct {
	Median  float64   `json:"median"`
	Min     float64   `json:"min"`
	Max     float64   `json:"max"`
	Samples []float64 `json:"samples"`
	Tasks   int       `json:"tasks,omitempty"`
	Note    string    `json:"note,omitempty"`
	Err     string    `json:"error,omitempty"`
}

// summarize computes median, min and max. The median of an even count is the mean
// of the middle two.
func summarize(samples []float64) *Summary {
	s := &Summary{Samples: samples}
	if len(samples) == 0 {
		return s
	}
	sorted := slices.Sorted(slices.Values(samples))
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	mid := len(sorted) / 2
	s.Median = sorted[mid]
	if len(sorted)%2 == 0 {
		s.Median = (sorted[mid-1] + sorted[mid]) / 2
	}
	return s
}

// failed records a metric that could not be measured, so that the table says why
// instead of leaving a blank.
func failed(err error) *Summary { return &Summary{Err: err.Error()} }

// sizes are the amounts of work of one run; -quick makes them tiny.
type sizes struct {
	reps       int           // timed repetitions of every measurement
	tasks      int           // trivial tasks per throughput rep (the target)
	applyCalls int           // sequential Apply calls per rep
	blobs      int           // identity-map items (the target)
	blobSize   int           // bytes per item
	cpuTasks   int           // busy tasks for the speedup
	cpuTask    time.Duration // how long one busy task runs
	// The recycle rows: recycleTasks busy tasks of recycleTask each per rep, or as
	// few as recycleFloor when recycling makes a rep take over recycleBudget.
	recycleTasks  int
	recycleTask   time.Duration
	recycleFloor  int
	recycleBudget time.Duration
	pingPongs     int           // round trips per ping-pong rep
	streamSize    int           // bytes per streaming rep
	memcpys       int           // 8 MiB copies per memcpy rep
	repBudget     time.Duration // a slow implementation's rep shrinks to about this
	settle        time.Duration // untimed running of a workload before its reps
	// bytesSettle is settle for the 8 MiB rows: long enough for the parent's heap, which
	// holds the inputs and a rep's results, to reach its steady size. Until it has, every
	// result lands on memory the machine has not handed out lately (on the project's VM,
	// 3-12 µs a page: the rate is a third of the steady one).
	bytesSettle time.Duration
}

const mib = 1 << 20

func newSizes(quick bool, reps int) sizes {
	if quick {
		return sizes{reps: reps, tasks: 2000, applyCalls: 200, blobs: 4, blobSize: mib, cpuTasks: 4,
			cpuTask: 5 * time.Millisecond, pingPongs: 300, streamSize: 64 * mib, memcpys: 8,
			repBudget: 200 * time.Millisecond, recycleTasks: 200, recycleTask: time.Millisecond,
			recycleFloor: 100, recycleBudget: 300 * time.Millisecond, settle: 50 * time.Millisecond,
			bytesSettle: 50 * time.Millisecond}
	}
	return sizes{reps: reps, tasks: 100_000, applyCalls: 2000, blobs: 64, blobSize: 8 * mib, cpuTasks: 40,
		cpuTask: 50 * time.Millisecond, pingPongs: 5000, streamSize: 1 << 30, memcpys: 64,
		repBudget: time.Second, recycleTasks: 1000, recycleTask: time.Millisecond,
		recycleFloor: 200, recycleBudget: 1500 * time.Millisecond, settle: 500 * time.Millisecond,
		bytesSettle: 3 * time.Second}
}

// shrink returns how many units one rep should do: want, or fewer when a warm-up
// measured rate (units per second) says want would take much longer than the
// budget, but never fewer than floor. It keeps a slow implementation from
// blowing the 3-minute run; the table shows the count actually used.
func shrink(want, floor int, rate float64, budget time.Duration) int {
	n := int(rate * budget.Seconds())
	return max(min(want, n), min(floor, want))
}

// timeIt runs f once and returns how long it took.
func timeIt(f func() error) (time.Duration, error) {
	t0 := time.Now()
	err := f()
	return time.Since(t0), err
}

// progress tells the operator what is running; the table comes at the end.
var started = time.Now()

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "mpbench: %6.1fs %s\n", time.Since(started).Seconds(), fmt.Sprintf(format, args...))
}
