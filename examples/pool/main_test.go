package main

import (
	"testing"

	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

func TestPool(t *testing.T) {
	t.Parallel()
	res := exampletest.RunExample(t)
	res.WantStdout(t, "[1 4 9 16 25]\n")
}
