//go:build unix

package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// header describes the run above the table.
type header struct {
	goVersion, python, pythonNote string
	reps, cpus                    int
	quick                         bool
	noise                         *noise // nil when it could not be measured
}

// printTable writes the one table of a run: a row per metric with multiproc, the
// two Python pools, the machine limit and the ratios, then the machine limits.
func printTable(w io.Writer, h header, sel selection, res *results) {
	py := "Python " + h.python + " (fork)"
	if h.python == "" {
		py = "no Python"
	}
	quick := ""
	if h.quick {
		quick = " QUICK (tiny sizes, not comparable),"
	}
	fmt.Fprintf(w, "\nmpbench:%s %d workers, median (min–max) of %d reps; %s, %s, %d CPUs\n",
		quick, workers, h.reps, h.goVersion, py, h.cpus)
	if h.noise != nil {
		fmt.Fprintf(w, "%s\n", h.noise)
	}
	fmt.Fprintf(w, "Pool = multiprocessing.Pool, PPE = concurrent.futures.ProcessPoolExecutor, both fork unless "+
		"the notes say otherwise; tasks are trivial ints unless said; GB = 1e9 bytes\n")
	fmt.Fprintf(w, "ratios are multiproc ÷ other; ↓ lower is better, ↑ higher is better\n\n")

	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "metric\tunit\tmultiproc\tPool\tPPE\tmachine limit\tmp/Pool\tmp/PPE\tmp/limit")
	var notes []string
	for _, m := range rows {
		if !sel.row(m.id) {
			continue
		}
		r := res.rows[m.id]
		mp, pool, ppe, limit := r[implMultiproc], r[implPool], r[implPPE], res.limits[m.limit]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.title, unitArrow(m),
			cell(mp, m.unit), pyCell(pool, m.unit, h), pyCell(ppe, m.unit, h), cell(limit, m.unit),
			ratio(mp, pool), ratio(mp, ppe), ratio(mp, limit))
		notes = append(notes, rowNotes(m, r)...)
	}
	fmt.Fprintln(tw, "machine limits, Go:\t\t\t\t\t\t\t\t")
	for _, m := range limitRows {
		if s := res.limits[m.id]; s != nil {
			fmt.Fprintf(tw, "  %s\t%s\t\t\t\t%s\t\t\t\n", m.title, unitArrow(m), cell(s, m.unit))
			if s.Err != "" {
				notes = append(notes, fmt.Sprintf("%s: %s", m.id, s.Err))
			} else if s.Note != "" {
				notes = append(notes, fmt.Sprintf("%s: %s", m.id, s.Note))
			}
		}
	}
	tw.Flush()
	for line := range strings.Lines(buf.String()) {
		fmt.Fprintln(w, strings.TrimRight(line, " \n")) // empty trailing cells pad with spaces
	}
	if h.pythonNote != "" {
		notes = append(notes, "python: "+h.pythonNote)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range notes {
			fmt.Fprintln(w, "  "+n)
		}
	}
}

// rowNotes lists a row's errors, its remarks grouped by text, and the work one rep
// did where it differs between the implementations: a slow one is shrunk to its
// time budget.
func rowNotes(m metric, r map[string]*Summary) []string {
	var errs, order, work []string
	byNote := map[string][]string{}
	tasks := map[int]bool{}
	present := 0
	for _, impl := range []string{implMultiproc, implPool, implPPE} {
		s := r[impl]
		if s == nil {
			continue
		}
		present++
		if s.Err != "" {
			errs = append(errs, fmt.Sprintf("%s %s: %s", m.id, impl, s.Err))
			continue
		}
		if s.Note != "" {
			if byNote[s.Note] == nil {
				order = append(order, s.Note)
			}
			byNote[s.Note] = append(byNote[s.Note], impl)
		}
		if s.Tasks > 0 {
			tasks[s.Tasks] = true
			work = append(work, fmt.Sprintf("%s %d", impl, s.Tasks))
		}
	}
	notes := errs
	for _, note := range order {
		who := " " + strings.Join(byNote[note], ", ")
		if len(byNote[note]) == present {
			who = "" // everyone's
		}
		notes = append(notes, fmt.Sprintf("%s%s: %s", m.id, who, note))
	}
	if len(tasks) > 1 {
		notes = append(notes, fmt.Sprintf("%s, tasks per rep: %s", m.id, strings.Join(work, ", ")))
	}
	return notes
}

func unitArrow(m metric) string {
	if m.lowerBetter {
		return m.unit + " ↓"
	}
	return m.unit + " ↑"
}

// cell is "median (min–max)", or why there is no figure.
func cell(s *Summary, unit string) string {
	switch {
	case s == nil:
		return "—"
	case s.Err != "":
		return "error (see notes)"
	case len(s.Samples) == 0:
		return "—"
	case s.Min == s.Max:
		return num(s.Median, unit)
	}
	return fmt.Sprintf("%s (%s–%s)", num(s.Median, unit), num(s.Min, unit), num(s.Max, unit))
}

// pyCell is cell, or "skipped" when Python did not run at all.
func pyCell(s *Summary, unit string, h header) string {
	if s == nil && h.pythonNote != "" {
		return "skipped (see notes)"
	}
	return cell(s, unit)
}

func ratio(a, b *Summary) string {
	if a == nil || b == nil || a.Err != "" || b.Err != "" || len(a.Samples) == 0 || len(b.Samples) == 0 || b.Median == 0 {
		return ""
	}
	return num(a.Median/b.Median, "") + "x"
}

// num prints three significant digits; rates get k and M.
func num(v float64, unit string) string {
	if unit == "tasks/s" {
		switch {
		case v >= 1e6:
			return sig3(v/1e6) + "M"
		case v >= 1e3:
			return sig3(v/1e3) + "k"
		}
	}
	return sig3(v)
}

func sig3(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 100:
		return fmt.Sprintf("%.0f", v)
	case a >= 10:
		return fmt.Sprintf("%.1f", v)
	case a >= 1:
		return fmt.Sprintf("%.2f", v)
	case a >= 0.01:
		return fmt.Sprintf("%.3f", v)
	}
	return fmt.Sprintf("%.2g", v)
}
