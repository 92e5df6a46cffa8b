package main

import (
	"strconv"
	"strings"
	"testing"

	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

func TestQueue(t *testing.T) {
	t.Parallel()
	res := exampletest.RunExample(t)
	// The consumer takes every square, in order, and the sum comes last.
	var want strings.Builder
	for i := 1; i <= 10; i++ {
		want.WriteString("consumer took " + strconv.Itoa(i*i) + "\n")
	}
	want.WriteString("sum of the squares: 385\n")
	res.WantStdout(t, want.String())
}
