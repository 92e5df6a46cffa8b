package main

import (
	"testing"

	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

func TestSharedArray(t *testing.T) {
	t.Parallel()
	res := exampletest.RunExample(t)
	res.WantStdout(t, "sum of 0..1048575: 549755289600 (expected 549755289600)\n")
}
