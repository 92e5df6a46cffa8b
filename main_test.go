//go:build unix

package multiproc_test

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/multiproc/multiproc"
)

// TestMain makes the test binary its own worker: re-executed as a worker, Main serves tasks
// and never returns. Re-executed with envHelper set, it plays a parent program for the tests
// that need one to kill or interrupt.
func TestMain(m *testing.M) {
	multiproc.Main()
	if mode := os.Getenv(envHelper); mode != "" {
		runHelper(mode)
		return
	}
	goleak.VerifyTestMain(m, leakOptions...)
}

// The fork thread lives as long as the process, by design (see internal/spawn).
var leakOptions = []goleak.Option{
	goleak.IgnoreTopFunction("github.com/multiproc/multiproc/internal/spawn.forkThread"),
}
