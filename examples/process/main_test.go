package main

import (
	"testing"

	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

func TestProcess(t *testing.T) {
	t.Parallel()
	res := exampletest.RunExample(t)
	// The child's line must come first: what a task writes is written before
	// Wait returns its result.
	res.WantStdout(t, "This is a child process.\nParent process completed.\n")
}
