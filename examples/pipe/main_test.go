package main

import (
	"testing"
	"time"

	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

func TestPipe(t *testing.T) {
	t.Parallel()
	bin := exampletest.Build(t)
	res := exampletest.Run(t, time.Minute, bin)
	if res.Err != nil {
		t.Fatalf("pipe: %v\nstderr:\n%s", res.Err, res.Stderr)
	}
	const want = "pong 1\npong 2\npong 3\npong 4\npong 5\nthe child answered 5\n"
	if res.Stdout != want {
		t.Errorf("stdout = %q, want %q\nstderr:\n%s", res.Stdout, want, res.Stderr)
	}
}
