//go:build unix

package shmsync

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
	"unsafe"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// envChild makes the test binary a child process that maps the page it inherits as
// descriptor 3 and does what the variable says (see runChild).
const envChild = "SHMSYNC_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(envChild); mode != "" {
		runChild(mode)
		return
	}
	goleak.VerifyTestMain(m)
}

const pageSize = 4096

// page is a page of shared memory: a file removed as soon as it is made.
type page struct {
	f   *os.File
	mem []byte
}

func newPage(t testing.TB) *page {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "page")
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(f.Name())
	if err := f.Truncate(pageSize); err != nil {
		t.Fatal(err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Munmap(mem); f.Close() })
	return &page{f, mem}
}

func at[T any](mem []byte, off int) *T { return (*T)(unsafe.Pointer(&mem[off])) }

// child is a test binary running runChild.
type child struct {
	cmd   *exec.Cmd
	lines *bufio.Scanner
}

// startChild starts a child in mode with the page as its descriptor 3 and waits for its
// first line, which must be want.
func startChild(t *testing.T, p *page, mode string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), envChild+"="+mode)
	cmd.ExtraFiles = []*os.File{p.f}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd, bufio.NewScanner(out)}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return c
}

// expect reads the child's next line and fails unless it is want.
func (c *child) expect(t *testing.T, want string) {
	t.Helper()
	got := make(chan string, 1)
	go func() {
		if c.lines.Scan() {
			got <- c.lines.Text()
		}
		close(got)
	}()
	select {
	case line := <-got:
		if line != want {
			t.Fatalf("child said %q, want %q", line, want)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("child did not say %q", want)
	}
}

// kill kills the child with SIGKILL and returns once it is dead (a zombie or reaped).
func (c *child) kill(t *testing.T) time.Time {
	t.Helper()
	c.cmd.Process.Kill()
	c.cmd.Wait()
	return time.Now()
}

func runChild(mode string) {
	mem, err := unix.Mmap(3, 0, pageSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	ctx := context.Background()
	switch mode {
	case "lock-and-hang":
		m := at[Mutex](mem, 0)
		if _, err := m.Lock(ctx); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("locked")
		time.Sleep(time.Hour)
	case "count":
		// Increments the word at 64 n times under the mutex, non-atomically.
		n, _ := strconv.Atoi(os.Args[1])
		m, counter := at[Mutex](mem, 0), at[uint64](mem, 64)
		for range n {
			if _, err := m.Lock(ctx); err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
			v := *counter
			*counter = v + 1
			if err := m.Unlock(); err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
		}
		fmt.Println("done")
	case "cond-wait":
		m, c := at[Mutex](mem, 0), at[Condition](mem, 64)
		m.Lock(ctx)
		fmt.Println("waiting")
		c.Wait(ctx, m)
		m.Unlock()
		fmt.Println("woken")
		time.Sleep(time.Hour)
	case "acquire-and-hang":
		s := at[Semaphore](mem, 0)
		for range 2 {
			if err := s.Acquire(ctx); err != nil {
				fmt.Println(err)
				os.Exit(1)
			}
		}
		fmt.Println("acquired")
		time.Sleep(time.Hour)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", mode)
		os.Exit(2)
	}
	os.Exit(0)
}
