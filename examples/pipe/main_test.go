package main

import (
	"testing"

	"github.com/multiproc/multiproc/examples/internal/exampletest"
)

func TestPipe(t *testing.T) {
	t.Parallel()
	res := exampletest.RunExample(t)
	res.WantStdout(t, "pong 1\npong 2\npong 3\npong 4\npong 5\nthe child answered 5\n")
}
