package main

import (
	"testing"
	"time"

	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

func TestSharedArray(t *testing.T) {
	t.Parallel()
	bin := exampletest.Build(t)
	res := exampletest.Run(t, time.Minute, bin)
	if res.Err != nil {
		t.Fatalf("sharedarray: %v\nstderr:\n%s", res.Err, res.Stderr)
	}
	if want := "sum of 0..1048575: 549755289600 (expected 549755289600)\n"; res.Stdout != want {
		t.Fatalf("stdout = %q, want %q\nstderr:\n%s", res.Stdout, want, res.Stderr)
	}
}
