//go:build unix

package multiproc_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/syncbuf"
	"github.com/multiproc/multiproc/internal/testpoll"
)

// envHelper makes the test binary play a parent program (runHelper) instead of running tests.
const envHelper = "MULTIPROC_TEST_HELPER"

// runHelper is a parent program for the tests that kill or interrupt a parent. It prints its
// workers' pids as "pids: 1 2", then "ready", then does what mode says.
func runHelper(mode string) {
	ctx := context.Background()
	if mode == "sigint-handled" {
		var stop context.CancelFunc
		ctx, stop = signal.NotifyContext(ctx, os.Interrupt)
		defer stop()
	}
	p, err := multiproc.NewPool(multiproc.Processes(2))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	infos, err := multiproc.Map(ctx, p, whoami, make([]struct{}, 8), multiproc.ChunkSize(1))
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	seen := map[int]bool{}
	var pids []string
	for _, in := range infos {
		if !seen[in.Pid] {
			seen[in.Pid] = true
			pids = append(pids, strconv.Itoa(in.Pid))
		}
	}
	fmt.Println("pids:", strings.Join(pids, " "))
	fmt.Println("ready")
	switch mode {
	case "orphan", "sigint-default":
		select {}
	case "sigint-handled":
		_, err := multiproc.Map(ctx, p, sleepy, []time.Duration{time.Minute, time.Minute, time.Minute})
		fmt.Println("map:", err)
		// The test looks at the workers before they are closed: it says when with a line.
		bufio.NewReader(os.Stdin).ReadString('\n')
		start := time.Now()
		p.Close()
		fmt.Printf("closed in %v\n", time.Since(start).Round(time.Millisecond))
		os.Exit(0)
	}
}

// helper is a running parent program.
type helper struct {
	cmd  *exec.Cmd
	in   io.WriteCloser // a line goes on, where the helper waits for one
	out  *bufio.Scanner
	pids []int
}

// startHelper starts the test binary as a parent program in a process group of its own, as a
// shell starts a foreground job, and waits until its workers are up.
func startHelper(t *testing.T, mode string) *helper {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envHelper+"="+mode)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h := &helper{cmd: cmd, in: stdin, out: bufio.NewScanner(stdout)}
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		for _, pid := range h.pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	for h.out.Scan() {
		line := h.out.Text()
		if rest, ok := strings.CutPrefix(line, "pids: "); ok {
			for _, f := range strings.Fields(rest) {
				pid, _ := strconv.Atoi(f)
				h.pids = append(h.pids, pid)
			}
		}
		if line == "ready" {
			if len(h.pids) == 0 {
				t.Fatal("helper reported no worker pids")
			}
			return h
		}
		if strings.HasPrefix(line, "error:") {
			t.Fatal("helper:", line)
		}
	}
	t.Fatal("helper ended before it was ready")
	return nil
}

// line returns the helper's next line of output.
func (h *helper) line(t *testing.T) string {
	t.Helper()
	if !h.out.Scan() {
		t.Fatal("helper ended its output early")
	}
	return h.out.Text()
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// eventually polls cond until it holds, failing the test if within passes first.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	testpoll.Wait(t, within, what, cond)
}

// newPool starts a pool that the test closes at its end.
func newPool(t *testing.T, opts ...multiproc.Option) *multiproc.Pool {
	t.Helper()
	p, err := multiproc.NewPool(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Terminate() })
	return p
}

// ctxFor returns a context bounded by a generous deadline, so a hang fails the test.
func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// openFDs counts the test process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func asWorkerError(t *testing.T, err error) *multiproc.WorkerError {
	t.Helper()
	var we *multiproc.WorkerError
	if !errors.As(err, &we) {
		t.Fatalf("got %v (%T), want a *WorkerError", err, err)
	}
	if !errors.Is(err, multiproc.ErrWorkerDied) {
		t.Fatalf("errors.Is(%v, ErrWorkerDied) = false", err)
	}
	return we
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of output copiers.
type syncBuffer = syncbuf.Buffer
