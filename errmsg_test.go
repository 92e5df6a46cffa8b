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
	for _, f := range []error{
		&backend.TimeoutError{After: time.Second},
		&backend.DiedError{Death: death},
		&backend.MemoryError{Death: death, Limit: 1 << 20},
		&backend.RemoteError{Err: wire.Error{Message: "multiproc: pool closed"}},
		backend.ErrClosed,
		&backend.StartError{Death: death, Err: errors.New("no handshake")},
		&backend.StartError{Death: death, Err: errors.New("no handshake"), Lasting: time.Minute},
		&backend.StartError{Death: death, Err: &backend.InitError{Err: &backend.RemoteError{
			Err: wire.Error{Message: "multiproc: refused"}}}},
	} {
		ep, _, err := echoPool(t, map[int]error{0: f})
		if err != nil {
			t.Fatal(err)
		}
		_, err = multiproc.Map(ctxFor(t), ep, square, []int{1})
		if err == nil || strings.Count(err.Error(), "multiproc:") != 1 {
			t.Errorf("%T became %q; want one prefix", f, err)
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
