//go:build unix

package multiproc_test

import (
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/wire"
)

// A message says "multiproc:" once, however many errors it is made of.
func TestMessagesHaveOnePrefix(t *testing.T) {
	p := newPool(t, multiproc.Processes(1), multiproc.TaskTimeout(20*time.Millisecond),
		multiproc.GracePeriod(20*time.Millisecond))
	_, err := multiproc.Map(ctxFor(t), p, stubborn, []time.Duration{time.Minute})
	if want := "multiproc: input 0: task timed out after 20ms"; err == nil || err.Error() != want {
		t.Errorf("a Map's timeout: %v; want %q", err, want)
	}

	death := backend.Death{Pid: 7, ExitCode: -1, Signal: syscall.SIGKILL}
	spawnErr := errors.New("multiproc: starting a worker: fork/exec /proc/self/exe: no such file or directory")
	for _, c := range []struct {
		f    error
		want string
	}{
		{&backend.TimeoutError{After: time.Second}, "input 0: task timed out after 1s"},
		{&backend.DiedError{Death: death}, "input 0: worker 7 died (signal: killed)"},
		{&backend.MemoryError{Death: death, Limit: 1 << 20}, "memory limit exceeded (1048576 bytes)"},
		{&backend.RemoteError{Err: wire.Error{Message: "multiproc: pool closed"}}, "input 0: pool closed"},
		{backend.ErrClosed, "input 0: pool closed"},
		{&backend.StartError{Death: death, Err: errors.New("no handshake")}, "starting a worker: worker 7 died"},
		{&backend.StartError{Death: death, Err: errors.New("no handshake"), Lasting: time.Minute},
			"no worker could be started for 1m0s: worker 7 died"},
		{&backend.StartError{Err: spawnErr}, "input 0: starting a worker: fork/exec"},
		{&backend.StartError{Err: spawnErr, Lasting: time.Minute},
			"no worker could be started for 1m0s: starting a worker: fork/exec"},
		{&backend.StartError{Death: death, Err: &backend.InitError{Err: &backend.RemoteError{
			Err: wire.Error{Message: "multiproc: refused"}}}}, "initializer failed: refused"},
	} {
		ep, _, err := echoPool(t, map[int]error{0: c.f})
		if err != nil {
			t.Fatal(err)
		}
		_, err = multiproc.Map(ctxFor(t), ep, square, []int{1})
		if err == nil || strings.Count(err.Error(), "multiproc:") != 1 || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%T became %q; want one prefix, and %q", c.f, err, c.want)
		}
		ep.Close()
	}
}

// A worker that crashed is described by the headline of its crash report, not by the last line
// of the dump after it.
func TestWorkerErrorNamesTheCrash(t *testing.T) {
	p := newPool(t, multiproc.Processes(1), multiproc.Stderr(io.Discard))
	for how, headline := range map[string]string{
		"segfault": "SIGSEGV: segmentation violation",
		"fatal":    "fatal error: stack overflow",
	} {
		_, err := multiproc.Apply(ctxFor(t), p, crash, how)
		we := asWorkerError(t, err)
		if !strings.HasSuffix(we.Error(), "it crashed: "+headline) {
			t.Errorf("%s: %q; want it to end with the crash's headline %q", how, we.Error(), headline)
		}
	}
}
