// Package spawn starts, watches and stops worker processes: re-executions of the running
// binary that speak internal/wire through a pair of shared-memory rings (internal/ring) passed
// as file descriptor 5, with a control socket as descriptor 3 (its end tells the worker its
// parent is gone; its bytes wake a ring's sleeping side) and a status page
// (internal/wire.Status) as descriptor 4.
package spawn

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The environment a worker is started with. A process is a worker exactly when EnvWorker is
// set; Main in the worker reads and removes these before running any task, so that processes a
// task starts in turn do not take themselves for workers.
const (
	EnvWorker   = "MULTIPROC_WORKER"   // the protocol version the parent speaks
	EnvName     = "MULTIPROC_NAME"     // the worker's name, as Current().Name reports it
	EnvIdentity = "MULTIPROC_IDENTITY" // the parent binary's identity, checked in the handshake
	EnvParent   = "MULTIPROC_PARENT"   // the parent's pid
)

// The descriptors a worker finds open.
const (
	ConnFD   = 3 // the control socket
	StatusFD = 4 // the status page
	RingsFD  = 5 // the rings that carry frames each way (internal/ring)
)

// Identity names the running binary: device, inode, size and modification time of the file
// /proc/self/exe refers to. A worker re-executes that very file, so parent and worker agree
// unless something is badly wrong.
func Identity() string {
	fi, err := os.Stat(executable())
	if err != nil {
		return "unknown"
	}
	return identityOf(fi)
}

func identityString(dev, ino uint64, size, mtime int64) string {
	return strings.Join([]string{
		strconv.FormatUint(dev, 16), strconv.FormatUint(ino, 16),
		strconv.FormatInt(size, 16), strconv.FormatInt(mtime, 16),
	}, ":")
}

// ErrorNoMain is what a worker prints, and its parent reports, when the program did not call
// multiproc.Main at the start of main.
const ErrorNoMain = "multiproc: this process was started as a worker, but it reached a pool or " +
	"process start instead of serving tasks: call multiproc.Main() as the first statement of " +
	"main (and of TestMain)"

// ExitNoMain is the exit code of a worker that found no call to Main.
const ExitNoMain = 87

// FailNoMain ends a worker process whose program forgot Main. It never returns.
func FailNoMain() {
	fmt.Fprintln(os.Stderr, ErrorNoMain)
	os.Exit(ExitNoMain)
}
