package main

import (
	"testing"
	"time"

	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

func TestPool(t *testing.T) {
	t.Parallel()
	bin := exampletest.Build(t)
	res := exampletest.Run(t, time.Minute, bin)
	if res.Err != nil {
		t.Fatalf("pool: %v\nstderr:\n%s", res.Err, res.Stderr)
	}
	const want = "[1 4 9 16 25]\n"
	if res.Stdout != want {
		t.Errorf("stdout = %q, want %q\nstderr:\n%s", res.Stdout, want, res.Stderr)
	}
}
