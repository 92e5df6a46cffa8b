package main

import (
	"slices"
	"strings"
	"testing"

	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

func TestNumbers(t *testing.T) {
	t.Parallel()
	res := exampletest.RunExample(t)
	lines := strings.Split(strings.TrimSuffix(res.Stdout, "\n"), "\n")
	if len(lines) != 5 {
		t.Fatalf("stdout has %d lines, want 5:\n%s\nstderr:\n%s", len(lines), res.Stdout, res.Stderr)
	}
	// The four processes run at once, so their lines may come in any order;
	// the parent's line comes last because it waits for all of them.
	if got, want := lines[4], "All processes completed."; got != want {
		t.Errorf("last line = %q, want %q", got, want)
	}
	got := slices.Sorted(slices.Values(lines[:4]))
	want := []string{"Process-1 prints 1", "Process-2 prints 2", "Process-3 prints 3", "Process-4 prints 4"}
	if !slices.Equal(got, want) {
		t.Errorf("the processes' lines, sorted, = %q, want %q", got, want)
	}
}
