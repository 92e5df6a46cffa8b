package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

func TestQueue(t *testing.T) {
	t.Parallel()
	bin := exampletest.Build(t)
	res := exampletest.Run(t, time.Minute, bin)
	if res.Err != nil {
		t.Fatalf("queue: %v\nstderr:\n%s", res.Err, res.Stderr)
	}
	// The consumer takes every square, in order, and the sum comes last.
	var want strings.Builder
	for i := 1; i <= 10; i++ {
		want.WriteString("consumer took " + strconv.Itoa(i*i) + "\n")
	}
	want.WriteString("sum of the squares: 385\n")
	if res.Stdout != want.String() {
		t.Errorf("stdout = %q, want %q\nstderr:\n%s", res.Stdout, want.String(), res.Stderr)
	}
}
