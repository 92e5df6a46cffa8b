package main

import (
	"testing"
	"time"

	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

func TestProcess(t *testing.T) {
	t.Parallel()
	bin := exampletest.Build(t)
	res := exampletest.Run(t, time.Minute, bin)
	if res.Err != nil {
		t.Fatalf("process: %v\nstderr:\n%s", res.Err, res.Stderr)
	}
	// The child's line must come first: what a task writes is written before
	// Wait returns its result.
	const want = "This is a child process.\nParent process completed.\n"
	if res.Stdout != want {
		t.Errorf("stdout = %q, want %q\nstderr:\n%s", res.Stdout, want, res.Stderr)
	}
}
