package spawn

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/multiproc/multiproc/internal/handle"
	"github.com/multiproc/multiproc/internal/peermem"
	"github.com/multiproc/multiproc/internal/ring"
	"github.com/multiproc/multiproc/internal/shm"
	"github.com/multiproc/multiproc/internal/wire"
)

// Config says how to start a worker.
type Config struct {
	Name   string    // the worker's name
	Stdout io.Writer // nil: the worker writes to the parent's standard output directly
	Stderr io.Writer // nil: the parent's standard error; the tail is kept either way
	Prefix string    // starts each line of output; with it, stdout is copied too
	Env    []string  // added to the parent's environment
	// StderrTee also receives the worker's standard error (a memory-limit guard scans it).
	StderrTee io.Writer
	// CgroupFD, if UseCgroup, is the cgroup the worker starts in.
	UseCgroup bool
	CgroupFD  int
}

// Child is a started worker process.
type Child struct {
	Pid int
	// Conn is the parent's end of the control socket. Frames travel through Rings; the
	// socket carries the rings' wake-ups, and its end tells the worker its parent is gone.
	Conn *os.File
	// Rings carry the frames: the parent writes tasks and reads results. They are closed
	// when the worker has been reaped, so that a read returns io.EOF and a write fails.
	Rings *ring.Conn

	// Peer is the table, in the status page, through which large values travel outside
	// the frames. The page stays mapped until the Child is unreachable: a copy to or from the
	// worker may still be under way when it is reaped.
	Peer peermem.Shared

	status wire.Status
	final  [4]uint64 // the status as the worker left it: batch, item, running, taken

	proc    *os.Process
	handles *handle.ChildLink // through which sharing handles travel
	stdout  *output           // nil when stdout is inherited
	stderr  *output

	mu     sync.Mutex // guards exited against signalling a reaped (reusable) process group
	exited bool
	state  *os.ProcessState
	done   chan struct{}
}

// ringSize is the size of each of a worker's two rings. Larger values stream through them
// in pieces. Every page of a ring ends up resident in both processes (the ring wraps, so even
// small messages touch all of it in time), so it is kept small: with 1 MiB rings an identity
// Map of 8 MiB values ran 35% faster (2.0 vs 1.5 GB/s), but an idle worker that had carried
// traffic would hold 2 MiB more, and its parent 2 MiB more per worker.
const ringSize = 256 << 10

// Start starts a worker. The worker runs in a process group of its own, so that the terminal's
// Ctrl-C reaches only the parent and so that a task's own children can be killed with it; it
// receives SIGKILL when the parent dies (Linux), or leaves when its control socket ends.
//
// The worker has ended when its process has: Done does not wait for a process the worker
// started in a group of its own (which outlives it) to let go of its stdout and stderr. Those
// are read for at most drainWait after the worker's end, then closed, so that what such a
// process writes to them afterwards fails (EPIPE, or SIGPIPE).
func Start(cfg Config) (c *Child, err error) {
	var closers []io.Closer
	defer func() {
		for _, f := range closers {
			f.Close()
		}
	}()
	conn, childConn, err := socketPair()
	if err != nil {
		return nil, err
	}
	closers = append(closers, childConn)

	statusFile, status, err := newStatusPage()
	if err != nil {
		conn.Close()
		return nil, err
	}
	closers = append(closers, statusFile)
	ringsFile, rings, err := ring.Create(ringSize)
	if err != nil {
		shm.Unmap(status)
		conn.Close()
		return nil, fmt.Errorf("multiproc: %w", err)
	}
	closers = append(closers, ringsFile)
	unmap := true
	defer func() {
		if unmap {
			shm.Unmap(status)
			conn.Close()
		}
	}()

	devnull, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	closers = append(closers, devnull)

	handles, handlesChild, err := handle.NewChildLink()
	if err != nil {
		return nil, err
	}
	closers = append(closers, handlesChild)
	defer func() {
		if err != nil {
			handles.Close()
		}
	}()

	c = &Child{Conn: conn, handles: handles, Rings: rings, Peer: PeerTable(status),
		status: wire.NewStatus(status), done: make(chan struct{})}
	// Until the copiers run, a failed start closes the write ends (deferred) and they end.
	stdout := os.Stdout
	if cfg.Stdout != nil || cfg.Prefix != "" {
		to := cfg.Stdout
		if to == nil {
			to = os.Stdout
		}
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		closers = append(closers, w)
		if c.stdout, err = newOutput(r, to, cfg.Prefix); err != nil {
			r.Close()
			return nil, err
		}
		stdout = w
	}
	stderrTo := cfg.Stderr
	if stderrTo == nil {
		stderrTo = os.Stderr
	}
	if cfg.StderrTee != nil {
		stderrTo = io.MultiWriter(stderrTo, cfg.StderrTee)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	closers = append(closers, w)
	if c.stderr, err = newOutput(r, stderrTo, cfg.Prefix); err != nil {
		r.Close()
		return nil, err
	}

	env := append(os.Environ(),
		EnvWorker+"="+strconv.Itoa(wireVersion),
		EnvName+"="+cfg.Name,
		EnvIdentity+"="+Identity(),
		EnvParent+"="+strconv.Itoa(os.Getpid()),
	)
	env = append(env, cfg.Env...)
	files := []*os.File{devnull, stdout, w, childConn, statusFile, ringsFile, handlesChild}
	env = append(env, handles.Env(len(files)-1))
	attr := &os.ProcAttr{
		Env:   env,
		Files: files,
		Sys:   sysProcAttr(cfg),
	}
	proc, err := startProcess(executable(), os.Args, attr)
	if err != nil {
		return nil, fmt.Errorf("multiproc: starting a worker: %w", err)
	}
	unmap = false
	runtime.AddCleanup(c, func(page []byte) { shm.Unmap(page) }, status)
	c.proc, c.Pid = proc, proc.Pid
	handles.Started(c.Pid)
	rings.Listen(conn, nil) // ends when reap closes conn
	go c.reap()
	return c, nil
}

// drainWait bounds the wait, after a worker has ended, for the end of its output pipes.
// Without a process of its own still holding them, the end comes at once.
const drainWait = 100 * time.Millisecond

// reap waits for the worker to end, kills what is left of its process group, and collects it.
func (c *Child) reap() {
	state := awaitExit(c.proc)
	c.mu.Lock()
	signalGroup(c.Pid, syscall.SIGKILL)
	c.exited = true
	c.mu.Unlock()
	if state == nil {
		state, _ = c.proc.Wait()
	}
	// The worker's end is its process's end: what it wrote is in the pipes, and a process it
	// started in a group of its own may hold them for as long as it lives.
	if c.stdout != nil {
		c.stdout.finish(drainWait)
	}
	c.stderr.finish(drainWait)
	c.mu.Lock()
	c.state = state
	b, item, running := c.status.Current()
	c.final = [4]uint64{b, uint64(item), boolWord(running), c.status.Taken()}
	c.status = wire.Status{}
	c.mu.Unlock()
	c.Rings.Close()
	c.Conn.Close()
	c.handles.Close()
	close(c.done)
}

// Done is closed when the worker has ended, its output was copied and its resources freed.
func (c *Child) Done() <-chan struct{} { return c.done }

// Signal sends sig to the worker's whole process group, unless it has ended.
func (c *Child) Signal(sig syscall.Signal) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.exited {
		return nil
	}
	if err := signalGroup(c.Pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("multiproc: signalling worker %d: %w", c.Pid, err)
	}
	return nil
}

// Exit reports how the worker ended; call it after Done. code is -1 when a signal ended it.
func (c *Child) Exit() (code int, sig syscall.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == nil {
		return -1, 0
	}
	if ws, ok := c.state.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -1, ws.Signal()
	}
	return c.state.ExitCode(), 0
}

// SyncOutput copies what the worker has written so far to its writers.
func (c *Child) SyncOutput() {
	if c.stdout != nil {
		c.stdout.Sync()
	}
	c.stderr.Sync()
}

// StderrTail returns the end of what the worker wrote to its standard error.
func (c *Child) StderrTail() string { return c.stderr.Tail() }

// Running reports the item the worker is running, as its status page says; after the worker
// has ended, the item it was running when it ended.
func (c *Child) Running() (batch uint64, item int, running bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status == (wire.Status{}) {
		return c.final[0], int(c.final[1]), c.final[2] == 1
	}
	return c.status.Current()
}

// Taken returns the id of the last batch whose frame the worker read, as its status page says.
func (c *Child) Taken() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status == (wire.Status{}) {
		return c.final[3]
	}
	return c.status.Taken()
}

func boolWord(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
