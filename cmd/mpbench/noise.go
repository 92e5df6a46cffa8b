//go:build unix

package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// A benchmark on 2 cores is only as good as the machine's quiet: another build or
// test run halves what a pool can get. cpuMeter measures how much CPU processes
// other than mpbench and its children used during the run, so that the table can
// say when its numbers were disturbed.
type cpuMeter struct {
	t0          time.Time
	busy0, own0 float64 // CPU seconds: the whole machine, mpbench and its reaped children
	steal0      float64
	ok          bool
}

// userHZ is the unit of /proc/stat; Linux reports it as 100 on every architecture.
const userHZ = 100

func startCPUMeter() cpuMeter {
	busy, steal, err := machineCPU()
	return cpuMeter{t0: time.Now(), busy0: busy, steal0: steal, own0: ownCPU(), ok: err == nil}
}

// noise is what other processes and the hypervisor took during the run.
type noise struct {
	ForeignCPUSeconds float64 `json:"foreign_cpu_seconds"`
	ForeignShare      float64 `json:"foreign_share"` // of all CPUs over the run's wall time
	StealShare        float64 `json:"steal_share"`
}

// read is valid only once every child has been reaped: a child's CPU time counts
// as mpbench's own from its wait on.
func (m cpuMeter) read() (noise, bool) {
	busy, steal, err := machineCPU()
	if !m.ok || err != nil {
		return noise{}, false
	}
	capacity := time.Since(m.t0).Seconds() * float64(runtime.NumCPU())
	foreign := max(0, (busy-m.busy0)-(ownCPU()-m.own0))
	return noise{ForeignCPUSeconds: foreign, ForeignShare: foreign / capacity,
		StealShare: (steal - m.steal0) / capacity}, true
}

func (n noise) String() string {
	s := fmt.Sprintf("other processes used %.0f%% of the CPUs during the run", 100*n.ForeignShare)
	if n.StealShare >= 0.01 {
		s += fmt.Sprintf(", the hypervisor stole %.0f%%", 100*n.StealShare)
	}
	if n.ForeignShare+n.StealShare > 0.05 {
		s += ": the numbers are disturbed, run again on a quiet machine"
	}
	return s
}

// machineCPU returns the CPU seconds all CPUs spent busy, and stolen, since boot.
func machineCPU() (busy, steal float64, err error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0, fmt.Errorf("empty /proc/stat")
	}
	// cpu user nice system idle iowait irq softirq steal guest guest_nice
	fields := strings.Fields(sc.Text())
	if len(fields) < 9 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("unexpected /proc/stat line %q", sc.Text())
	}
	var v [8]float64
	for i := range v {
		if v[i], err = strconv.ParseFloat(fields[i+1], 64); err != nil {
			return 0, 0, err
		}
	}
	busy = v[0] + v[1] + v[2] + v[5] + v[6] // guest time is inside user already
	return busy / userHZ, v[7] / userHZ, nil
}

// ownCPU is the CPU time of this process and of every child it has reaped.
func ownCPU() float64 {
	var total float64
	for _, who := range []int{unix.RUSAGE_SELF, unix.RUSAGE_CHILDREN} {
		var ru unix.Rusage
		if unix.Getrusage(who, &ru) == nil {
			total += tv(ru.Utime) + tv(ru.Stime)
		}
	}
	return total
}

func tv(t unix.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
