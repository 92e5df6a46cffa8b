//go:build !linux || multiproc_portable

package spawn

import (
	"os"
	"time"
)

// parentPoll is how often a worker looks at its parent pid: a wake-up a second costs an idle
// worker nothing measurable.
const parentPoll = time.Second

// watchParent makes the worker exit when its parent pid changes (the parent died and the
// worker was given to another). The end of the control socket says the same at once; this
// catches a parent whose end of the socket lives on in a process it started.
func watchParent() {
	parent := os.Getppid()
	go func() {
		for range time.Tick(parentPoll) {
			if os.Getppid() != parent {
				os.Exit(0)
			}
		}
	}()
}
