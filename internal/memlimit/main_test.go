//go:build linux

package memlimit

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/multiproc/multiproc/internal/syncbuf"
)

// The tests run the test binary itself as the child process, as os/exec's tests do: TestMain
// looks for childModeEnv and, if set, runs that child helper instead of the tests.
const (
	childModeEnv  = "MEMLIMIT_TEST_CHILD"
	childBytesEnv = "MEMLIMIT_TEST_BYTES"
)

const (
	mib       = 1 << 20
	testLimit = 256 * mib
	hogBytes  = 2048 * mib
)

// A "steady" child keeps steadyLive bytes and makes steadyGarbage more of garbage: well under
// testLimit even under the race detector, whose shadow memory makes a process use about 2.5
// times the resident memory and 4 times the address space it would use without.
var (
	steadyLive    = int64(64 * mib)
	steadyGarbage = 256
)

func init() {
	if raceEnabled {
		steadyLive, steadyGarbage = 16*mib, 64
	}
}

func TestMain(m *testing.M) {
	if mode := os.Getenv(childModeEnv); mode != "" {
		os.Exit(runChild(mode))
	}
	goleak.VerifyTestMain(m)
}

// runChild is a child process. It applies the limit its parent put in EnvVar (if any), as a
// worker does, and then:
//   - "hog": allocates and touches childBytesEnv bytes (1 MiB at a time, all kept), prints
//     "done", and holds the memory until stdin closes;
//   - "steady": keeps childBytesEnv bytes live while it allocates and drops steadyGarbage MiB
//     more, prints "ready", and holds until stdin closes.
func runChild(mode string) int {
	if mode == "exit" {
		return 0
	}
	m, err := ApplyFromEnv()
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 3
	}
	size, err := strconv.ParseInt(os.Getenv(childBytesEnv), 10, 64)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: bad", childBytesEnv, err)
		return 3
	}
	fmt.Fprintf(os.Stderr, "child %s: mechanism %s, %d bytes\n", mode, m, size)
	var keep [][]byte
	switch mode {
	case "hog":
		for n := int64(0); n < size; n += mib {
			keep = append(keep, touched(mib))
		}
		fmt.Println("done")
	case "steady":
		for n := int64(0); n < size; n += mib {
			keep = append(keep, touched(mib))
		}
		for range steadyGarbage {
			_ = touched(mib) // garbage: the GC, not the limit, must deal with it
		}
		fmt.Println("ready")
	default:
		fmt.Fprintln(os.Stderr, "child: unknown mode", mode)
		return 3
	}
	io.Copy(io.Discard, os.Stdin)
	runtime.KeepAlive(keep)
	return 0
}

//go:noinline
func touched(n int) []byte {
	b := make([]byte, n)
	for i := 0; i < len(b); i += 4096 {
		b[i] = 1
	}
	return b
}

// child is a running child helper.
type child struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	lines   chan string // stdout, line by line
	stderr  *syncBuffer
	scanner *OOMScanner
	start   time.Time
	done    chan struct{} // closed once the child is reaped
}

// startChild starts the test binary as a child helper in mode with size bytes. env is the
// environment (nil: ours); attr may be nil; the child's stderr is copied to tee too, if given.
func startChild(t *testing.T, mode string, size int64, env []string, attr *syscall.SysProcAttr, tee ...io.Writer) *child {
	t.Helper()
	if env == nil {
		env = os.Environ()
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(env[:len(env):len(env)], childModeEnv+"="+mode, childBytesEnv+"="+strconv.FormatInt(size, 10))
	cmd.SysProcAttr = attr
	c := &child{cmd: cmd, lines: make(chan string, 16), stderr: &syncBuffer{}, scanner: &OOMScanner{}, done: make(chan struct{})}
	cmd.Stderr = io.MultiWriter(append([]io.Writer{c.stderr, c.scanner}, tee...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	c.start = time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		s := bufio.NewScanner(stdout)
		for s.Scan() {
			c.lines <- s.Text()
		}
		close(c.lines)
		cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		c.stdin.Close()
		cmd.Process.Kill()
		c.wait(t, time.Minute)
	})
	return c
}

// wait waits for the child to exit and be reaped, at most d, and returns its wait status.
func (c *child) wait(t *testing.T, d time.Duration) syscall.WaitStatus {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(d):
		c.cmd.Process.Kill()
		t.Fatalf("child %d still running after %v", c.cmd.Process.Pid, d)
	}
	return c.cmd.ProcessState.Sys().(syscall.WaitStatus)
}

// expectLine waits for the next stdout line and fails unless it is want.
func (c *child) expectLine(t *testing.T, want string, d time.Duration) {
	t.Helper()
	select {
	case got, ok := <-c.lines:
		if !ok || got != want {
			t.Fatalf("child said %q (open: %v), want %q; stderr:\n%s", got, ok, want, c.stderr.Tail(2000))
		}
	case <-time.After(d):
		t.Fatalf("child did not say %q within %v", want, d)
	}
}

// death describes the child's end as a pool would.
func (c *child) death(ws syscall.WaitStatus) Death {
	d := Death{ExitCode: ws.ExitStatus(), Stderr: c.stderr.Tail(4096), StderrOOM: c.scanner.Found()}
	if ws.Signaled() {
		d.ExitCode, d.Signal = -1, ws.Signal()
	}
	return d
}

// syncBuffer is a bytes.Buffer for a child's stderr, read while the child writes.
type syncBuffer = syncbuf.Buffer
