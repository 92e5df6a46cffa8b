//go:build !linux || multiproc_portable

package spawn

import (
	"os"
	"strconv"
	"time"
)

// parentPoll is how often a worker looks at its parent pid: a wake-up a second costs an idle
// worker nothing measurable.
const parentPoll = time.Second

// watchParent makes the worker exit when its parent pid changes (the parent died and the
// worker was given to another). The end of the control socket says the same at once; this
// catches a parent whose end of the socket lives on in a process it started.
func watchParent() {
	parent, err := strconv.Atoi(parentAtStart)
	if err != nil {
		parent = os.Getppid()
	}
	if os.Getppid() != parent {
		os.Exit(0) // gone before this worker got here
	}
	go func() {
		for range time.Tick(parentPoll) {
			if os.Getppid() != parent {
				os.Exit(0)
			}
		}
	}()
}

// parentAtStart is the pid the parent gave in the environment, read before Main removes it.
var parentAtStart = os.Getenv(EnvParent)
