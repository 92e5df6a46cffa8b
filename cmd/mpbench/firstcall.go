//go:build unix

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// firstCallBreakdown runs each cold workload four times and says, around each call, how many
// minor page faults and how much CPU time the parent and its workers spent: A, the first call
// of a fresh pool in this fresh process; B, that pool's second call; C, the first call of a
// second pool; D, its second call. Counts are not disturbed by a busy machine as times are:
// see docs/PERFORMANCE.md, "The first call". Linux only (the workers' counts come from /proc).
func firstCallBreakdown(w io.Writer, sz sizes) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*metricTimeout)
	defer cancel()
	for _, wl := range coldWorkloads {
		call, _ := wl.prepare(sz)
		fmt.Fprintf(w, "%s\n%-40s %9s %13s %11s %15s %13s\n", wl.id, "", "wall ms",
			"parent faults", "parent CPU", "workers' faults", "workers' CPU")
		for _, pair := range [][2]string{
			{"A fresh process, fresh pool", "B same pool, second call"},
			{"C same process, new pool", "D C's pool, second call"},
		} {
			p, err := startPool()
			if err != nil {
				return err
			}
			pids, err := waitAllWorkers(ctx, p)
			if err != nil {
				p.Terminate()
				return err
			}
			for _, label := range pair {
				before := sample(pids)
				t0 := time.Now()
				err := call(ctx, p)
				d := time.Since(t0)
				after := sample(pids)
				if err != nil {
					p.Terminate()
					return err
				}
				fmt.Fprintf(w, "%-40s %9.0f %13d %8.0f ms %15d %10.0f ms\n", label, d.Seconds()*1e3,
					after.faults-before.faults, after.cpuMs-before.cpuMs,
					after.workerFaults-before.workerFaults, after.workerCPUMs-before.workerCPUMs)
				runtime.GC()
			}
			p.Close()
		}
	}
	return nil
}

type usage struct {
	faults, workerFaults int64
	cpuMs, workerCPUMs   float64
}

// sample reads this process's minor faults and CPU time, and its workers' from /proc.
func sample(workers map[int]bool) usage {
	var u usage
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.faults = ru.Minflt
		u.cpuMs = float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e6
	}
	for pid := range workers {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) < 13 {
			continue
		}
		minflt, _ := strconv.ParseInt(f[7], 10, 64)
		utime, _ := strconv.ParseInt(f[11], 10, 64)
		stime, _ := strconv.ParseInt(f[12], 10, 64)
		u.workerFaults += minflt
		u.workerCPUMs += float64(utime+stime) * 1000 / userHZ
	}
	return u
}
