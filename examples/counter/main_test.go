package main

import (
	"testing"

	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

func TestCounter(t *testing.T) {
	t.Parallel()
	res := exampletest.RunExample(t)
	res.WantStdout(t, "with a Lock: 40000\nwith Value.Add: 40000\n")
}
