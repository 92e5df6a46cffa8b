//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// pythonReport is what bench/python/pools.py prints on stdout.
type pythonReport struct {
	Python      string                                  `json:"python"`
	StartMethod string                                  `json:"start_method"`
	Results     map[string]map[string]pythonMeasurement `json:"results"` // impl → metric id
	Notes       map[string]any                          `json:"notes"`
}

type pythonMeasurement struct {
	Samples []float64 `json:"samples"`
	Tasks   int       `json:"tasks"`
	Note    string    `json:"note"`
}

// pythonTimeout bounds the whole Python side: its share of the run (the cold rows, a fresh
// pool per rep, take about a minute of it) with room to spare on a slow machine.
const pythonTimeout = 6 * time.Minute

// measurePython runs pools.py and merges its numbers into res. It returns the
// Python version, or an error saying why there are no Python columns.
func measurePython(interpreter, script string, sel selection, sz sizes, quick bool, res *results) (string, error) {
	path, err := exec.LookPath(interpreter)
	if err != nil {
		return "", fmt.Errorf("%s not found, Python columns skipped", interpreter)
	}
	if script == "" {
		if script, err = findPoolsPy(); err != nil {
			return "", err
		}
	}
	args := []string{script, "--reps", strconv.Itoa(sz.reps)}
	if quick {
		args = append(args, "--quick")
	}
	if sel.only != nil {
		args = append(args, "--only", sel.only.String())
	}
	ctx, cancel := context.WithTimeout(context.Background(), pythonTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	// At the timeout, the whole process group goes: Python's pool workers outlive a killed
	// parent and would hold its stdout open, and Run would wait for them for ever.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr // pools.py reports progress on stderr
	progress("python %s", script)
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w", interpreter, filepath.Base(script), err)
	}
	var rep pythonReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		return "", fmt.Errorf("reading pools.py output: %w", err)
	}
	for impl, metrics := range rep.Results {
		for id, m := range metrics {
			s := summarize(m.Samples)
			s.Tasks, s.Note = m.Tasks, m.Note
			res.set(id, impl, s)
		}
	}
	return rep.Python, nil
}

// findPoolsPy looks for bench/python/pools.py above the working directory (go run
// ./cmd/mpbench runs from the module) and then beside this source file.
func findPoolsPy() (string, error) {
	const rel = "bench/python/pools.py"
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, d)
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		dirs = append(dirs, filepath.Join(filepath.Dir(file), "..", ".."))
	}
	for _, d := range dirs {
		p := filepath.Join(d, rel)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New(rel + " not found (run from the module, or pass -pools-py); Python columns skipped")
}
