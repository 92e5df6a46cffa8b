//go:build unix

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
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
	res.limits["limit.pingpong_ring"] = summarize([]float64{10, 11, 12})
	res.limits["limit.pingpong_raw"] = summarize([]float64{30, 31, 32})
	var out bytes.Buffer
	sel := selection{only: regexp.MustCompile("^apply$")}
	printTable(&out, header{goVersion: "go", python: "3.11", reps: 3, cpus: 2}, sel, res)
	for _, want := range []string{"22.0 (20.0–25.0)", "291 (246–300)", "0.076x", "2.00x", "error (see notes)",
		"apply ppe: boom", "ping-pong, shared-memory ring (the library's transport)", "ping-pong, socketpair, raw syscalls"} {
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
	s, err = measurePingPongRing(1, 50)
	positive(t, "ping-pong ring", s, err)
	s, err = measureStream(1, 4*mib)
	positive(t, "stream", s, err)
	s, err = measureStreamRing(1, 4*mib)
	positive(t, "stream ring", s, err)
	s, err = measureCPUPair(1, tinySizes())
	positive(t, "cpu pair", s, err)
	start, mem, err := measureSpawn(1)
	positive(t, "spawn", start, err)
	positive(t, "child rss", mem.rss, nil)
	positive(t, "child uss", mem.uss, nil)
	positive(t, "child pss", mem.pss, nil)
	if !(mem.uss.Median < mem.pss.Median && mem.pss.Median < mem.rss.Median) {
		t.Errorf("child memory: want USS < PSS < RSS, got %v, %v, %v", mem.uss.Median, mem.pss.Median, mem.rss.Median)
	}
	positive(t, "memcpy", measureMemcpy(1, 2), nil)
	stream, trip := measureGoroutinePool(1, 1000, 100)
	positive(t, "goroutine stream", stream, nil)
	positive(t, "goroutine round trip", trip, nil)
}

// TestRingChildEnds: a ring child exits when the parent hangs up its socket (as when
// the parent dies) or closes the rings, and the parent's reads end when the child dies.
func TestRingChildEnds(t *testing.T) {
	for _, how := range []string{"socket closed", "rings closed", "child killed"} {
		t.Run(how, func(t *testing.T) {
			c, err := startRingChild("echo-ring")
			if err != nil {
				t.Fatal(err)
			}
			defer c.close()
			msg := make([]byte, pingSize)
			if _, err := c.rings.Write(msg); err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(c.rings, msg); err != nil {
				t.Fatal(err)
			}
			switch how {
			case "socket closed":
				c.bell.Close()
			case "rings closed":
				c.rings.Close()
			case "child killed":
				c.cmd.Process.Kill()
				done := make(chan error, 1)
				go func() {
					c.rings.Write(msg)
					_, err := io.ReadFull(c.rings, msg)
					done <- c.check(err)
				}()
				select {
				case err := <-done:
					if err == nil || !strings.Contains(err.Error(), "killed") {
						t.Errorf("a read from a killed child: %v, want an error that says it was killed", err)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("a read from a killed child did not end")
				}
			}
			select {
			case <-c.exited:
				if how != "child killed" && c.waitErr != nil {
					t.Errorf("child: %v", c.waitErr)
				}
			case <-time.After(10 * time.Second):
				c.cmd.Process.Kill()
				t.Fatal("the child did not exit")
			}
		})
	}
}

// TestLimitIDs: every row is held against a limit that exists, and -only selects
// a row's own limit with it, not the others.
func TestLimitIDs(t *testing.T) {
	known := map[string]bool{}
	for _, m := range limitRows {
		if known[m.id] {
			t.Errorf("limit %s twice", m.id)
		}
		known[m.id] = true
	}
	for _, m := range rows {
		if m.limit != "" && !known[m.limit] {
			t.Errorf("row %s is held against %s, which is not a limit", m.id, m.limit)
		}
	}
	for only, want := range map[string]map[string]bool{
		"^apply$":       {"limit.pingpong_ring": true, "limit.pingpong_raw": false, "limit.stream_ring": false},
		"^bytes$":       {"limit.stream": true, "limit.stream_ring": false, "limit.pingpong_ring": false},
		"ring":          {"limit.pingpong_ring": true, "limit.stream_ring": true, "limit.stream": false},
		"^cpu_speedup$": {"limit.cpu_pair": true, "limit.cores": false},
	} {
		sel := selection{only: regexp.MustCompile(only)}
		for id, w := range want {
			if got := sel.limit(id); got != w {
				t.Errorf("-only %s: measures %s %v, want %v", only, id, got, w)
			}
		}
	}
}

// tinySizes keeps the multiproc and Python smoke tests to a few seconds.
func tinySizes() sizes {
	sz := newSizes(true, 1)
	sz.tasks, sz.applyCalls, sz.blobs, sz.blobSize = 200, 20, 2, 64<<10
	sz.cpuTasks, sz.cpuTask = 2, 2*time.Millisecond
	sz.recycleTasks, sz.recycleFloor = 60, 60 // 2 recycles per worker and rep
	return sz
}

func TestMultiproc(t *testing.T) {
	res := newResults()
	measureCold(selection{}, tinySizes(), res)
	measureMultiproc(selection{}, tinySizes(), res)
	measureSharing(selection{}, tinySizes(), res)
	measureQueues(selection{}, tinySizes(), res)
	for _, m := range rows {
		positive(t, m.id, res.rows[m.id][implMultiproc], nil)
	}
}

func TestPoolsPy(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	res := newResults()
	ids := []string{"apply", "rss", "uss", "uss_pss", "map_auto_cold", "bytes_cold"}
	sel := selection{only: regexp.MustCompile("^(" + strings.Join(ids, "|") + ")$")}
	version, err := measurePython("python3", "", sel, tinySizes(), true, res)
	if err != nil {
		t.Fatal(err)
	}
	if version == "" {
		t.Error("pools.py reported no Python version")
	}
	for _, id := range ids {
		for _, impl := range []string{implPool, implPPE} {
			positive(t, id+" "+impl, res.rows[id][impl], nil)
		}
	}
	if res.rows["start"] != nil || res.rows["recycle_never"] != nil {
		t.Error("pools.py measured a metric -only left out")
	}
	// The table prints a note once when every column has the same one.
	want := summarizeMemory(nil, "mean of the 2 workers, 0.1 s after their first task")
	for id, note := range map[string]string{"rss": want.rss.Note, "uss": want.uss.Note, "uss_pss": want.pss.Note} {
		for _, impl := range []string{implPool, implPPE} {
			if got := res.rows[id][impl].Note; got != note {
				t.Errorf("%s %s note %q, mpbench's is %q", id, impl, got, note)
			}
		}
	}
}

// TestPoolsPyRecycle runs the recycle rows of pools.py. The executor's
// max_tasks_per_child deadlocks on some CPython versions, and pools.py must then
// skip it with a note, within its stall timeout, instead of hanging.
func TestPoolsPyRecycle(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	res := newResults()
	if _, err := measurePython("python3", "", selection{only: regexp.MustCompile("^recycle")}, tinySizes(), true, res); err != nil {
		t.Fatal(err)
	}
	for _, id := range recycleIDs {
		positive(t, id+" pool", res.rows[id][implPool], nil)
		if s := res.rows[id][implPPE]; s == nil || (len(s.Samples) == 0 && !strings.HasPrefix(s.Note, "skipped")) {
			t.Errorf("%s ppe: neither a figure nor a skip note: %+v", id, s)
		} else if len(s.Samples) > 0 {
			positive(t, id+" ppe", s, nil)
		}
	}
	if !strings.Contains(res.rows["recycle_every25"][implPool].Note, "maxtasksperchild=25") {
		t.Errorf("recycle_every25 pool note does not say how it recycles: %q", res.rows["recycle_every25"][implPool].Note)
	}
	if res.rows["rss"] != nil {
		t.Error("pools.py measured rss although -only left it out")
	}
}

func TestParseSmapsRollup(t *testing.T) {
	const rollup = `55d44d978000-7ffd41156000 ---p 00000000 00:00 0                          [rollup]
Rss:                7372 kB
Pss:                2970 kB
Pss_Dirty:          1100 kB
Shared_Clean:       6000 kB
Shared_Dirty:          0 kB
Private_Clean:       236 kB
Private_Dirty:      1100 kB
Swap:                  0 kB
`
	uss, pss, err := parseSmapsRollup(strings.NewReader(rollup))
	if err != nil {
		t.Fatal(err)
	}
	if uss != 1336.0/1024 || pss != 2970.0/1024 {
		t.Errorf("uss %v MiB, pss %v MiB; want %v and %v", uss, pss, 1336.0/1024, 2970.0/1024)
	}
	noPrivate := strings.ReplaceAll(rollup, "Private_Dirty", "Private_Wherever")
	if _, _, err := parseSmapsRollup(strings.NewReader(noPrivate)); err == nil {
		t.Error("a rollup without Private_Dirty parsed")
	}
	m, err := readMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	// RSS comes from another file, read a moment earlier, so it is only checked
	// to be there.
	if !(m.uss > 0 && m.uss <= m.pss && m.rss > 0) {
		t.Errorf("this process: want 0 < USS <= PSS and RSS > 0, got %+v", m)
	}
}

// A Python column that pools.py skipped has no samples and says why: the table
// shows a dash and the note, and the other ratios still print.
func TestTableSkipped(t *testing.T) {
	res := newResults()
	res.set("recycle_kept", implMultiproc, summarize([]float64{0.8, 0.9, 0.85}))
	res.set("recycle_kept", implPool, summarize([]float64{0.3, 0.4, 0.34}))
	res.set("recycle_kept", implPPE, &Summary{Note: "skipped: it hung"})
	var out bytes.Buffer
	sel := selection{only: regexp.MustCompile("^recycle_kept$")}
	printTable(&out, header{goVersion: "go", python: "3.11", reps: 3, cpus: 2}, sel, res)
	for _, want := range []string{"recycling kept: every 25 ÷ never", "0.850 (0.800–0.900)", "2.50x",
		"recycle_kept ppe: skipped: it hung"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
}

func TestJSON(t *testing.T) {
	res := newResults()
	res.set("uss", implMultiproc, summarize([]float64{1.2}))
	res.limits["limit.child_uss"] = summarize([]float64{1.1})
	res.set("apply", implMultiproc, summarize([]float64{25}))
	res.limits["limit.pingpong_ring"] = summarize([]float64{2})
	res.limits["limit.pingpong_raw"] = summarize([]float64{20})
	path := filepath.Join(t.TempDir(), "run.json")
	sel := selection{only: regexp.MustCompile("^(uss|apply)$")}
	if err := writeJSON(path, header{goVersion: "go", reps: 1, cpus: 2}, sel, "^(uss|apply)$", res); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rep jsonReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Metrics) != 2 || rep.Metrics[0].ID != "apply" || rep.Metrics[0].LimitID != "limit.pingpong_ring" ||
		rep.Metrics[0].Limit.Median != 2 ||
		rep.Metrics[1].ID != "uss" || rep.Metrics[1].LimitID != "limit.child_uss" ||
		rep.Metrics[1].Multiproc.Median != 1.2 || rep.Metrics[1].Limit.Median != 1.1 {
		t.Errorf("metrics: %s", b)
	}
	var ids []string
	for _, l := range rep.Limits {
		ids = append(ids, l.ID)
	}
	if strings.Join(ids, " ") != "limit.pingpong_ring limit.pingpong_raw limit.child_uss" {
		t.Errorf("limits %v: %s", ids, b)
	}
}

func TestFirstCall(t *testing.T) {
	var out bytes.Buffer
	if err := firstCallBreakdown(&out, tinySizes()); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"map_auto_cold", "bytes_cold", "A fresh process", "D C's pool"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("-first-call lacks %q:\n%s", want, out.String())
		}
	}
}
