package main

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
	"go.uber.org/goleak"
)

// TestMain lets the test binary be every child mpbench starts: a multiproc worker
// (Main serves and never returns) or a machine-limit child (-limits-child=MODE).
func TestMain(m *testing.M) {
	multiproc.Main()
	for _, arg := range os.Args[1:] {
		if mode, ok := strings.CutPrefix(arg, "-limits-child="); ok {
			if err := runLimitsChild(mode); err != nil {
				fmt.Fprintln(os.Stderr, "limits child:", err)
				os.Exit(1)
			}
			os.Exit(0)
		}
	}
	// multiproc starts workers from one locked thread that lives as long as the
	// process (a worker's Pdeathsig follows that thread), so its goroutine stays.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/multiproc/multiproc/internal/spawn.forkThread"))
}

func TestSummarize(t *testing.T) {
	s := summarize([]float64{5, 1, 3})
	if s.Median != 3 || s.Min != 1 || s.Max != 5 {
		t.Errorf("odd count: got median %v min %v max %v", s.Median, s.Min, s.Max)
	}
	if s := summarize([]float64{4, 1, 3, 2}); s.Median != 2.5 {
		t.Errorf("even count: median %v, want 2.5", s.Median)
	}
	if s := summarize(nil); len(s.Samples) != 0 || s.Median != 0 {
		t.Errorf("no samples: %+v", s)
	}
}

func TestShrink(t *testing.T) {
	for _, c := range []struct {
		want, floor int
		rate        float64
		budget      time.Duration
		n           int
	}{
		{100_000, 1000, 1e6, time.Second, 100_000}, // fast: the full count
		{100_000, 1000, 20_000, time.Second, 20_000},
		{100_000, 1000, 10, time.Second, 1000}, // never below the floor
		{500, 1000, 10, time.Second, 500},      // nor above want
	} {
		if n := shrink(c.want, c.floor, c.rate, c.budget); n != c.n {
			t.Errorf("shrink(%d, %d, %v, %v) = %d, want %d", c.want, c.floor, c.rate, c.budget, n, c.n)
		}
	}
}

func TestNum(t *testing.T) {
	for _, c := range []struct {
		v    float64
		unit string
		want string
	}{
		{291.4, "µs", "291"}, {6.6, "ms", "6.60"}, {12.34, "MiB", "12.3"}, {0.7012, "GB/s", "0.701"},
		{74_120, "tasks/s", "74.1k"}, {11_300_000, "tasks/s", "11.3M"}, {950, "tasks/s", "950"},
	} {
		if got := num(c.v, c.unit); got != c.want {
			t.Errorf("num(%v, %q) = %q, want %q", c.v, c.unit, got, c.want)
		}
	}
}

func TestTable(t *testing.T) {
	res := newResults()
	res.set("apply", implMultiproc, summarize([]float64{20, 22, 25}))
	res.set("apply", implPool, summarize([]float64{246, 300, 291}))
	res.set("apply", implPPE, failed(fmt.Errorf("boom")))
	res.limits["limit.pingpong_raw"] = summarize([]float64{10, 11, 12})
	var out bytes.Buffer
	sel := selection{only: regexp.MustCompile("^apply$")}
	printTable(&out, header{goVersion: "go", python: "3.11", reps: 3, cpus: 2}, sel, res)
	for _, want := range []string{"22.0 (20.0–25.0)", "291 (246–300)", "0.076x", "2.00x", "error (see notes)",
		"apply ppe: boom", "ping-pong, socketpair, raw syscalls"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "Map, ChunkSize(1)") {
		t.Errorf("table shows a row -only left out:\n%s", out.String())
	}
}

// positive fails unless every sample is a positive, finite number.
func positive(t *testing.T, name string, s *Summary, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if s.Err != "" || len(s.Samples) == 0 {
		t.Fatalf("%s: no figure: %+v", name, s)
	}
	for _, v := range s.Samples {
		if !(v > 0) || math.IsInf(v, 0) {
			t.Fatalf("%s: sample %v", name, v)
		}
	}
}

func TestLimits(t *testing.T) {
	s, err := measurePingPongRaw(1, 50)
	positive(t, "ping-pong raw", s, err)
	s, err = measurePingPongConn(1, 50)
	positive(t, "ping-pong conn", s, err)
	s, err = measureStream(1, 4*mib)
	positive(t, "stream", s, err)
	start, rss, err := measureSpawn(1)
	positive(t, "spawn", start, err)
	positive(t, "child rss", rss, nil)
	positive(t, "memcpy", measureMemcpy(1, 2), nil)
	stream, trip := measureGoroutinePool(1, 1000, 100)
	positive(t, "goroutine stream", stream, nil)
	positive(t, "goroutine round trip", trip, nil)
}

// tinySizes keeps the multiproc and Python smoke tests to a few seconds.
func tinySizes() sizes {
	sz := newSizes(true, 1)
	sz.tasks, sz.applyCalls, sz.blobs, sz.blobSize = 200, 20, 2, 64<<10
	sz.cpuTasks, sz.cpuTask = 2, 2*time.Millisecond
	return sz
}

func TestMultiproc(t *testing.T) {
	res := newResults()
	measureMultiproc(selection{}, tinySizes(), res)
	for _, m := range rows {
		positive(t, m.id, res.rows[m.id][implMultiproc], nil)
	}
}

func TestPoolsPy(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	res := newResults()
	sel := selection{only: regexp.MustCompile("^(apply|rss)$")}
	version, err := measurePython("python3", "", sel, tinySizes(), true, res)
	if err != nil {
		t.Fatal(err)
	}
	if version == "" {
		t.Error("pools.py reported no Python version")
	}
	for _, id := range []string{"apply", "rss"} {
		for _, impl := range []string{implPool, implPPE} {
			positive(t, id+" "+impl, res.rows[id][impl], nil)
		}
	}
	if res.rows["start"] != nil {
		t.Error("pools.py measured start although -only left it out")
	}
}
