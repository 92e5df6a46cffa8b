//go:build !multiproc_portable

package spawn

import (
	"os"
	"runtime"
	"sync"
)

// Linux delivers Pdeathsig when the *thread* that forked a child exits, not the process
// (go.dev/issue/27505). Children are therefore forked from one goroutine locked to its OS
// thread for the life of the process: the thread never exits, so a worker's death signal
// fires only when the parent process dies.

type startRequest struct {
	name  string
	argv  []string
	attr  *os.ProcAttr
	reply chan startReply
}

type startReply struct {
	proc *os.Process
	err  error
}

var (
	forkerOnce sync.Once
	forkerReqs chan startRequest
)

// startProcess starts a process from the dedicated thread.
func startProcess(name string, argv []string, attr *os.ProcAttr) (*os.Process, error) {
	forkerOnce.Do(func() {
		forkerReqs = make(chan startRequest)
		go forkThread(forkerReqs)
	})
	req := startRequest{name: name, argv: argv, attr: attr, reply: make(chan startReply, 1)}
	forkerReqs <- req
	r := <-req.reply
	return r.proc, r.err
}

// forkThread never returns and never unlocks its thread.
func forkThread(reqs <-chan startRequest) {
	runtime.LockOSThread()
	for req := range reqs {
		p, err := os.StartProcess(req.name, req.argv, req.attr)
		req.reply <- startReply{p, err}
	}
}
