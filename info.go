package multiproc

import (
	"context"
	"os"

	"github.com/multiproc/multiproc/internal/worker"
)

// Info describes the calling process (Python's multiprocessing.current_process()).
type Info struct {
	Name      string // "MainProcess" in the parent; the worker's name in a worker
	Pid       int
	ParentPid int // in a worker, the pid of the process that started it
	IsWorker  bool
}

// current is set by Main in a worker.
var current Info

// Current describes the calling process.
func Current() Info {
	if current.IsWorker {
		return current
	}
	return Info{Name: "MainProcess", Pid: os.Getpid(), ParentPid: os.Getppid()}
}

// Attempt returns which run of the task ctx belongs to: 1 for the first, 2 for the first
// retry (see Retries), and so on; 0 outside a task.
func Attempt(ctx context.Context) int { return worker.Attempt(ctx) }
