//go:build unix

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// An idle process's memory, three ways (MiB). RSS alone flatters nobody: a
// re-executed Go worker maps the same binary as its parent, and a forked Python
// worker shares the parent's pages copy-on-write, so most of either's RSS costs
// the machine nothing extra. USS is what the process alone holds (freed when it
// exits); PSS charges each shared page to its sharers in equal parts, so it
// depends on what else maps the same files.
type memSample struct {
	rss, uss, pss float64
}

// readMemory reads VmRSS from /proc/PID/status, as the rss metric always has,
// and USS and PSS from /proc/PID/smaps_rollup, one right after the other.
func readMemory(pid int) (memSample, error) {
	var m memSample
	rss, err := vmRSSMiB(pid)
	if err != nil {
		return m, err
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return m, err // Linux before 4.14 has no smaps_rollup
	}
	defer f.Close()
	uss, pss, err := parseSmapsRollup(f)
	if err != nil {
		return m, fmt.Errorf("/proc/%d/smaps_rollup: %w", pid, err)
	}
	return memSample{rss: rss, uss: uss, pss: pss}, nil
}

// parseSmapsRollup returns USS (Private_Clean + Private_Dirty) and PSS (Pss) in
// MiB. Every field it needs must be there: a missing one would read as zero and
// pass for a tiny process.
func parseSmapsRollup(r io.Reader) (uss, pss float64, err error) {
	want := map[string]float64{"Pss:": -1, "Private_Clean:": -1, "Private_Dirty:": -1}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 || fields[2] != "kB" {
			continue // the header line names the address range
		}
		if _, ok := want[fields[0]]; !ok {
			continue
		}
		kb, err := strconv.ParseFloat(fields[1], 64)
		if err != nil {
			return 0, 0, fmt.Errorf("%s %q: %w", fields[0], fields[1], err)
		}
		want[fields[0]] = kb
	}
	if err := sc.Err(); err != nil {
		return 0, 0, err
	}
	for k, v := range want {
		if v < 0 {
			return 0, 0, fmt.Errorf("no %s line", strings.TrimSuffix(k, ":"))
		}
	}
	return (want["Private_Clean:"] + want["Private_Dirty:"]) / 1024, want["Pss:"] / 1024, nil
}

// vmRSSMiB reads a process's resident set size from /proc/PID/status.
func vmRSSMiB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var kb float64
		if _, err := fmt.Sscanf(sc.Text(), "VmRSS: %f kB", &kb); err == nil {
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// meanMemory reads every pid at the same moment and returns their mean.
func meanMemory(pids []int) (memSample, error) {
	var sum memSample
	for _, pid := range pids {
		m, err := readMemory(pid)
		if err != nil {
			return memSample{}, err
		}
		sum.rss, sum.uss, sum.pss = sum.rss+m.rss, sum.uss+m.uss, sum.pss+m.pss
	}
	n := float64(len(pids))
	return memSample{rss: sum.rss / n, uss: sum.uss / n, pss: sum.pss / n}, nil
}

// memSummaries are the rss, uss and pss figures of a run, one sample per rep.
type memSummaries struct{ rss, uss, pss *Summary }

func summarizeMemory(samples []memSample, note string) memSummaries {
	var rss, uss, pss []float64
	for _, m := range samples {
		rss, uss, pss = append(rss, m.rss), append(uss, m.uss), append(pss, m.pss)
	}
	s := memSummaries{rss: summarize(rss), uss: summarize(uss), pss: summarize(pss)}
	s.rss.Note = note
	s.uss.Note = note + "; USS = Private_Clean + Private_Dirty of /proc/PID/smaps_rollup"
	s.pss.Note = note + "; PSS splits each shared page among the processes that map it, so it depends on what else runs"
	return s
}

func failedMemory(err error) memSummaries {
	return memSummaries{rss: failed(err), uss: failed(err), pss: failed(err)}
}
