package main

import (
	"testing"
	"time"

	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

func TestCounter(t *testing.T) {
	t.Parallel()
	bin := exampletest.Build(t)
	res := exampletest.Run(t, time.Minute, bin)
	if res.Err != nil {
		t.Fatalf("counter: %v\nstderr:\n%s", res.Err, res.Stderr)
	}
	if want := "with a Lock: 40000\nwith Value.Add: 40000\n"; res.Stdout != want {
		t.Fatalf("stdout = %q, want %q\nstderr:\n%s", res.Stdout, want, res.Stderr)
	}
}
