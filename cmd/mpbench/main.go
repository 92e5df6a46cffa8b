//go:build unix

// Command mpbench measures multiproc against Python's process pools and against
// the machine's own limits, and prints one table.
//
//	go run ./cmd/mpbench [-reps 5] [-quick] [-only REGEX] [-json FILE]
//
// Every metric uses 2 workers. The Python side is bench/python/pools.py
// (multiprocessing.Pool and concurrent.futures.ProcessPoolExecutor, fork); the
// machine limits are measured here with re-executed children of this binary and
// no library in between. Compare ratios taken in one run: absolute numbers drift
// from machine to machine. A full run takes about two and a half minutes on 2 cores.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strings"

	"github.com/multiproc/multiproc"
)

func main() {
	multiproc.Main() // a worker serves tasks here and never returns

	var (
		jsonFile    = flag.String("json", "", "also write all results as JSON to `file`")
		reps        = flag.Int("reps", 5, "timed repetitions of every measurement (at least 1)")
		quick       = flag.Bool("quick", false, "tiny sizes: a smoke run whose numbers mean little")
		only        = flag.String("only", "", "measure only the metrics whose id matches `regex` (ids: see -list)")
		list        = flag.Bool("list", false, "list the metric ids and exit")
		python      = flag.String("python", "python3", "the Python `interpreter`; empty skips Python")
		poolsPy     = flag.String("pools-py", "", "`path` of bench/python/pools.py (found from the working directory by default)")
		limitsChild = flag.String("limits-child", "", "internal: run as a machine-limit child in `mode`")
		firstCall   = flag.Bool("first-call", false, "only say where the cold rows' first calls spend their time (page faults, CPU) and exit")
	)
	flag.Parse()
	if *limitsChild != "" {
		if err := runLimitsChild(*limitsChild); err != nil {
			fmt.Fprintln(os.Stderr, "mpbench child:", err)
			os.Exit(1)
		}
		return
	}
	if *list {
		for _, m := range append(rows[:len(rows):len(rows)], limitRows...) {
			fmt.Printf("%-26s %-8s %s\n", m.id, m.unit, m.title)
		}
		return
	}
	if *firstCall {
		if err := firstCallBreakdown(os.Stdout, newSizes(*quick, 1)); err != nil {
			fmt.Fprintln(os.Stderr, "mpbench:", err)
			os.Exit(1)
		}
		return
	}
	if *reps < 1 {
		fmt.Fprintln(os.Stderr, "mpbench: -reps must be at least 1")
		os.Exit(2)
	}
	var sel selection
	if *only != "" {
		re, err := regexp.Compile(*only)
		if err != nil {
			fmt.Fprintln(os.Stderr, "mpbench: -only:", err)
			os.Exit(2)
		}
		sel.only = re
	}

	sz := newSizes(*quick, *reps)
	res := newResults()
	meter := startCPUMeter()
	measureCold(sel, sz, res) // first, while this process is fresh, as a user's program is
	measureLimits(sel, sz, res)
	measureMultiproc(sel, sz, res)
	measureSharing(sel, sz, res)
	measureQueues(sel, sz, res)
	h := header{goVersion: runtime.Version(), reps: *reps, cpus: runtime.NumCPU(), quick: *quick}
	if sel.anyRow() {
		var err error
		if *python == "" {
			h.pythonNote = "skipped by -python \"\""
		} else if h.python, err = measurePython(*python, *poolsPy, sel, sz, *quick, res); err != nil {
			h.pythonNote = err.Error()
			progress("%v", err)
		} else if err := measureSharingPython(*python, *poolsPy, sel, sz, *quick, res); err != nil {
			progress("%v", err)
		}
		measureQueuesPython(*python, *poolsPy, sel, sz, *quick, res)
	}
	if n, ok := meter.read(); ok {
		h.noise = &n
	}
	progress("done")
	printTable(os.Stdout, h, sel, res)
	if *jsonFile != "" {
		if err := writeJSON(*jsonFile, h, sel, *only, res); err != nil {
			fmt.Fprintln(os.Stderr, "mpbench:", err)
			os.Exit(1)
		}
	}
}

// measureLimits fills res.limits with the selected machine limits. They run first
// and take a few seconds.
func measureLimits(sel selection, sz sizes, res *results) {
	run := func(id string, f func() (*Summary, error)) {
		if !sel.limit(id) {
			return
		}
		progress("%s", id)
		s, err := f()
		if err != nil {
			s = failed(err)
			progress("%s: %v", id, err)
		}
		res.limits[id] = s
	}
	run("limit.pingpong_ring", func() (*Summary, error) { return measurePingPongRing(sz.reps, sz.pingPongs) })
	run("limit.pingpong_raw", func() (*Summary, error) { return measurePingPongRaw(sz.reps, sz.pingPongs) })
	run("limit.pingpong_conn", func() (*Summary, error) { return measurePingPongConn(sz.reps, sz.pingPongs) })
	// One spawn measurement gives the start time and the children's memory.
	spawnIDs := []string{"limit.spawn", "limit.child_rss", "limit.child_uss", "limit.child_pss"}
	if slices.ContainsFunc(spawnIDs, sel.limit) {
		progress("%s", strings.Join(spawnIDs, ", "))
		start, mem, err := measureSpawn(sz.reps)
		if err != nil {
			start, mem = failed(err), failedMemory(err)
		}
		for i, s := range []*Summary{start, mem.rss, mem.uss, mem.pss} {
			if sel.limit(spawnIDs[i]) {
				res.limits[spawnIDs[i]] = s
			}
		}
	}
	run("limit.memcpy", func() (*Summary, error) { return measureMemcpy(sz.reps, sz.memcpys), nil })
	run("limit.stream", func() (*Summary, error) { return measureStream(sz.reps, sz.streamSize) })
	run("limit.stream_ring", func() (*Summary, error) { return measureStreamRing(sz.reps, sz.streamSize) })
	if sel.limit("limit.goroutine_stream") || sel.limit("limit.goroutine_roundtrip") {
		progress("limit.goroutine_stream, limit.goroutine_roundtrip")
		stream, trip := measureGoroutinePool(sz.reps, sz.tasks, sz.applyCalls*10)
		if sel.limit("limit.goroutine_stream") {
			res.limits["limit.goroutine_stream"] = stream
		}
		if sel.limit("limit.goroutine_roundtrip") {
			res.limits["limit.goroutine_roundtrip"] = trip
		}
	}
	run("limit.cpu_pair", func() (*Summary, error) { return measureCPUPair(sz.reps, sz) })
	run("limit.cores", func() (*Summary, error) {
		s := summarize([]float64{float64(runtime.NumCPU())})
		s.Note = "runtime.NumCPU()"
		return s, nil
	})
}

// The JSON form of a run: every sample, so that runs can be compared later.
type jsonRow struct {
	ID            string   `json:"id"`
	Title         string   `json:"title"`
	Unit          string   `json:"unit"`
	LowerIsBetter bool     `json:"lower_is_better"`
	Multiproc     *Summary `json:"multiproc,omitempty"`
	Pool          *Summary `json:"pool,omitempty"`
	PPE           *Summary `json:"process_pool_executor,omitempty"`
	LimitID       string   `json:"limit_id,omitempty"`
	Limit         *Summary `json:"limit,omitempty"`
}

type jsonReport struct {
	Go         string    `json:"go"`
	Python     string    `json:"python,omitempty"`
	PythonNote string    `json:"python_note,omitempty"`
	OS         string    `json:"os"`
	Arch       string    `json:"arch"`
	CPUs       int       `json:"cpus"`
	Workers    int       `json:"workers"`
	Reps       int       `json:"reps"`
	Quick      bool      `json:"quick"`
	Only       string    `json:"only,omitempty"`
	Noise      *noise    `json:"noise,omitempty"`
	Metrics    []jsonRow `json:"metrics"`
	Limits     []jsonRow `json:"limits"`
}

func writeJSON(path string, h header, sel selection, only string, res *results) error {
	rep := jsonReport{Go: h.goVersion, Python: h.python, PythonNote: h.pythonNote,
		OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: h.cpus, Workers: workers, Reps: h.reps,
		Quick: h.quick, Only: only, Noise: h.noise, Metrics: []jsonRow{}, Limits: []jsonRow{}}
	for _, m := range rows {
		if !sel.row(m.id) {
			continue
		}
		r := res.rows[m.id]
		rep.Metrics = append(rep.Metrics, jsonRow{ID: m.id, Title: m.title, Unit: m.unit,
			LowerIsBetter: m.lowerBetter, Multiproc: r[implMultiproc], Pool: r[implPool], PPE: r[implPPE],
			LimitID: m.limit, Limit: res.limits[m.limit]})
	}
	for _, m := range limitRows {
		if s := res.limits[m.id]; s != nil {
			rep.Limits = append(rep.Limits, jsonRow{ID: m.id, Title: m.title, Unit: m.unit,
				LowerIsBetter: m.lowerBetter, Limit: s})
		}
	}
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
