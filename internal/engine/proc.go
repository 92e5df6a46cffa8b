package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/memlimit"
	"github.com/multiproc/multiproc/internal/spawn"
	"github.com/multiproc/multiproc/internal/wire"
)

// A worker's lifecycle: start and handshake, kill, stop, and what is learned when it is reaped.

// handshakeTimeout bounds the wait for a new worker's hello.
const handshakeTimeout = 10 * time.Second

// Why the engine ended a worker.
type killCause int

const (
	causeNone     killCause = iota
	causeTimeout            // its item ran past the timeout
	causeCanceled           // its items were cancelled and did not stop in time
	causeStopped            // the engine is closing
	causeRecycled           // it reached MaxTasks or MaxMemory and was replaced
	causeMemory             // it went over the memory limit
	causeSocket             // it lost its control socket
)

// proc is the parent's side of one worker process.
type proc struct {
	e     *Engine
	child *spawn.Child
	name  string
	r     *wire.Reader
	dec   *wire.Decoder // one gob stream per connection: the same decoder from the first frame on

	// Guarded by e.mu.
	inflight []*batch // sent or being sent, in order
	sending  bool     // a goroutine is in pump for this worker
	dead     bool
	cause    killCause
	assigned int  // items given to it, for MaxTasks
	retiring bool // it takes no more work and leaves when it has finished what it holds

	busySince  atomic.Int64 // when it last reported results, or started work; 0 while idle
	lastResult atomic.Int64 // when it last reported results

	guard    *memlimit.Guard // its memory limit, if any
	byMemory bool            // it died of its memory limit; set once reaped

	// The reader's role (see reader.go), guarded by e.mu: one goroutine at a time reads the
	// worker's ring. reading says someone holds the role; exited that the process has ended
	// (what it wrote last is still to be read); ended that its frames have ended and the
	// worker was settled. wake rouses the read loop when work comes and nobody reads.
	reading, exited, ended bool
	wake                   chan struct{}

	writeMu sync.Mutex // one writer of frames at a time
	enc     *wire.Encoder

	peer *peerLink // set when large values travel outside the frames (see peer.go)
}

// startWorker starts a worker process and waits for its hello. It fails with a StartError,
// whose Death is zero when no process was started.
func (e *Engine) startWorker(name string) (*proc, error) {
	cfg := spawn.Config{Name: name, Stdout: e.cfg.Stdout, Stderr: e.cfg.Stderr}
	if e.cfg.Prefix {
		cfg.Prefix = "[" + name + "] "
	}
	var guard *memlimit.Guard
	if e.lim != nil {
		var err error
		if guard, cfg.Env, err = e.lim.Prepare([]string{}); err != nil {
			return nil, &backend.StartError{Err: err}
		}
		cfg.CgroupFD, cfg.UseCgroup = guard.CgroupFD()
		cfg.StderrTee = guard.Stderr()
	}
	var started atomic.Pointer[proc]
	cfg.OnConnEnd = func() {
		if w := started.Load(); w != nil {
			w.socketEnded()
		}
	}
	child, err := spawn.Start(cfg)
	if err != nil {
		if guard != nil {
			guard.Exited(context.Background(), memlimit.Death{})
		}
		return nil, &backend.StartError{Err: err}
	}
	if guard != nil {
		guard.Started(child.Pid)
	}
	w := &proc{e: e, child: child, name: name, enc: wire.NewEncoder(), dec: wire.NewDecoder(),
		guard: guard, wake: make(chan struct{}, 1)}
	started.Store(w)
	child.Rings.Reader.Waiter = &resultWaiter{w: w}
	w.r = wire.NewReader(&child.Rings.Reader, 0)
	err = w.handshake()
	if err == nil && e.cfg.Init != nil {
		err = w.initialize()
	}
	if err != nil {
		child.Signal(syscall.SIGKILL)
		<-child.Done()
		w.released()
		return nil, &backend.StartError{Death: w.death(nil), Err: err}
	}
	e.log("worker started", "name", name, "pid", child.Pid)
	return w, nil
}

func (w *proc) handshake() error {
	late := w.killAfter(handshakeTimeout)
	f, err := w.r.Read()
	if late() {
		return fmt.Errorf("no handshake within %v", handshakeTimeout)
	}
	if err != nil {
		return fmt.Errorf("worker ended before its handshake: %w", err)
	}
	h, err := wire.DecodeHello(w.dec, f)
	if err != nil {
		return err
	}
	if h.Version != wire.Version {
		return fmt.Errorf("worker speaks protocol %d, parent %d", h.Version, wire.Version)
	}
	if h.Identity != spawn.Identity() || int(h.Pid) != w.child.Pid {
		return fmt.Errorf("worker identity %q (pid %d) is not this binary's %q (pid %d)",
			h.Identity, h.Pid, spawn.Identity(), w.child.Pid)
	}
	w.link(h)
	return nil
}

// killAfter kills the worker if d passes before the returned function is called; that
// function reports whether it did. A read of the worker's ring has no deadline of its own: the
// kill ends it (the ring is closed once the worker is reaped).
func (w *proc) killAfter(d time.Duration) (stopped func() bool) {
	var killed atomic.Bool
	t := time.AfterFunc(d, func() {
		killed.Store(true)
		w.child.Signal(syscall.SIGKILL)
	})
	return func() bool {
		t.Stop()
		return killed.Load()
	}
}

func (w *proc) death(cause error) backend.Death {
	code, sig := w.child.Exit()
	return backend.Death{Pid: w.child.Pid, ExitCode: code, Signal: sig, Stderr: w.child.StderrTail(), Cause: cause}
}

// removeInflight drops batches from w's list. e.mu is held.
func (w *proc) removeInflight(bs ...*batch) {
	for _, b := range bs {
		for k, x := range w.inflight {
			if x == b {
				w.inflight = slices.Delete(w.inflight, k, k+1)
				break
			}
		}
	}
}

// socketGrace is how long a worker whose control socket has reached its end has to be reaped
// before it is taken for alive and killed (see socketEnded).
const socketGrace = time.Second

// socketEnded is called when the parent's end of the worker's control socket reaches its end.
// A dying worker's does; so does that of a worker whose task closed its end (fd 3), and that
// worker lives on but can no longer be woken by the parent: it would serve a task a second.
// It is killed and replaced.
func (w *proc) socketEnded() {
	t := time.NewTimer(socketGrace)
	defer t.Stop()
	select {
	case <-w.child.Done():
		return
	case <-t.C:
	}
	w.e.log("worker lost its control socket", "name", w.name, "pid", w.child.Pid)
	w.kill(causeSocket)
}

// errLostSocket is the cause of a worker's death when it lost its control socket.
var errLostSocket = errors.New("it closed its control socket (file descriptor 3)")

// kill ends the worker's process group now. The reader notices and cleans up.
func (w *proc) kill(cause killCause) {
	w.e.mu.Lock()
	if w.cause == causeNone {
		w.cause = cause
	}
	w.e.mu.Unlock()
	w.child.Signal(syscall.SIGKILL)
}

// stop ends the worker: its batches are cancelled (a graceful Close has none left), it is
// told to exit, and it is killed if it has not left within grace.
func (w *proc) stop(grace time.Duration) {
	w.e.mu.Lock()
	if w.cause == causeNone {
		w.cause = causeStopped
	}
	var ids []uint64
	for _, b := range w.inflight {
		ids = append(ids, b.id)
	}
	w.e.mu.Unlock()
	// The timer runs from before the write: a worker that does not read its ring (stopped,
	// say) could keep the write waiting for room, and the kill ends that wait.
	t := time.AfterFunc(max(grace, 100*time.Millisecond), func() { w.child.Signal(syscall.SIGKILL) })
	defer t.Stop()
	w.writeMu.Lock()
	for _, id := range ids {
		wire.EncodeCancel(w.enc, id)
	}
	wire.EncodeExit(w.enc)
	w.enc.WriteTo(&w.child.Rings.Writer)
	w.writeMu.Unlock()
	<-w.child.Done()
}

// released tells the memory guard that the worker has been reaped, and learns from it whether
// the limit is what ended the worker.
func (w *proc) released() {
	if w.guard == nil {
		return
	}
	code, sig := w.child.Exit()
	by, _ := w.guard.Exited(context.Background(), memlimit.Death{ExitCode: code, Signal: sig,
		Stderr: w.child.StderrTail()})
	if by {
		w.e.mu.Lock()
		w.byMemory = true
		if w.cause == causeNone || w.cause == causeStopped {
			w.cause = causeMemory
		}
		w.e.mu.Unlock()
	}
}

func (c killCause) String() string {
	switch c {
	case causeTimeout:
		return "timeout"
	case causeCanceled:
		return "canceled"
	case causeStopped:
		return "stopped"
	case causeRecycled:
		return "recycled"
	case causeMemory:
		return "memory limit"
	case causeSocket:
		return "lost its control socket"
	}
	return "died"
}
