//go:build unix

package shmqueue

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"go.uber.org/goleak"

	"github.com/multiproc/multiproc/internal/shmsync"
)

// envRole makes the test binary play a process of a test (runRole) instead of running tests.
// The shared memory is its file descriptor 3.
const envRole = "SHMQUEUE_TEST_ROLE"

func TestMain(m *testing.M) {
	if role := os.Getenv(envRole); role != "" {
		if err := runRole(strings.Fields(role)); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// say writes a line to stdout at once, so that a process killed a moment later has said it.
func say(format string, args ...any) { os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n") }

func runRole(args []string) error {
	r, err := OpenRegion(os.NewFile(3, "shared"))
	if err != nil {
		return err
	}
	ctx := context.Background()
	num := func(i int) int { n, _ := strconv.Atoi(args[i]); return n }
	switch args[0] {
	case "produce": // id count maxSize: puts items, saying each one put
		q, err := Attach(r.Mem)
		if err != nil {
			return err
		}
		id, count, maxSize := num(1), num(2), num(3)
		say("ready")
		rnd := rand.New(rand.NewPCG(uint64(id), uint64(os.Getpid())))
		for k := range count {
			n := 8 + rnd.IntN(64)
			if rnd.IntN(20) == 0 {
				n = 8 + rnd.IntN(maxSize)
			}
			if err := q.Put(ctx, [][]byte{item(id<<20|k, n)}, true); err != nil {
				return err
			}
			say("put %d %d", id<<20|k, n)
		}
	case "put-big": // n: puts one item of n bytes
		q, err := Attach(r.Mem)
		if err != nil {
			return err
		}
		say("ready")
		return q.Put(ctx, [][]byte{item(9, num(1))}, true)
	case "consume": // takes items until the queue is closed, saying each one as it takes it
		q, err := Attach(r.Mem)
		if err != nil {
			return err
		}
		say("ready")
		for {
			// Said before the item is taken: a consumer killed right after saying it leaves
			// the item in the queue, to be taken again.
			err := q.Get(ctx, true, func(b []byte, _ bool) error {
				k := int(binary.LittleEndian.Uint64(b))
				if len(b) < 8 || string(b) != string(item(k, len(b))) {
					say("bad %d", k)
				} else {
					say("got %d", k)
				}
				return nil
			})
			if errors.Is(err, ErrClosed) {
				return nil
			}
			if err != nil {
				return err
			}
		}
	case "pipe": // n close|hang: owns end 1, sends n messages, then closes it or hangs
		e, err := AttachEnd(r.Mem, 1)
		if err != nil {
			return err
		}
		e.Adopt()
		for k := range num(1) {
			if err := e.Send(ctx, [][]byte{item(k, 8+k)}); err != nil {
				return err
			}
		}
		if args[2] == "close" {
			e.Close()
			return nil
		}
		say("sent")
		select {}
	}
	return nil
}

// child is a process of a test.
type child struct {
	cmd  *exec.Cmd
	mu   sync.Mutex
	said []string      // its lines so far
	done chan struct{} // closed when its stdout ends
}

// start runs the test binary as a process playing role, with r's file as its fd 3.
func start(t testing.TB, r *Region, role ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envRole+"="+strings.Join(role, " "))
	cmd.ExtraFiles = []*os.File{r.File}
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, done: make(chan struct{})}
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			c.mu.Lock()
			c.said = append(c.said, s.Text())
			c.mu.Unlock()
		}
		close(c.done)
	}()
	t.Cleanup(func() { c.cmd.Process.Kill(); c.wait() })
	return c
}

// expect waits until the child has said want.
func (c *child) expect(t testing.TB, want string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		said := slices.Contains(c.said, want)
		c.mu.Unlock()
		if said {
			return
		}
		select {
		case <-c.done:
			t.Fatalf("the child ended before it said %q", want)
		case <-time.After(time.Millisecond):
		}
	}
	t.Fatalf("the child did not say %q", want)
}

// kill ends the child with SIGKILL and returns everything it said.
func (c *child) kill() []string {
	c.cmd.Process.Signal(syscall.SIGKILL)
	return c.wait()
}

// wait waits for the child's end and returns everything it said.
func (c *child) wait() []string {
	<-c.done
	c.cmd.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.said
}

// newRegionQueue makes a queue in shared memory.
func newRegionQueue(t testing.TB, ringSize, capacity int) (*Region, *Queue) {
	t.Helper()
	r, err := NewRegion(Size(ringSize))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	if err := Init(r.Mem, ringSize, capacity, 0); err != nil {
		t.Fatal(err)
	}
	q, err := Attach(r.Mem)
	if err != nil {
		t.Fatal(err)
	}
	return r, q
}

// holdByDead makes m look held by a process that has ended: the owner a shmsync.Mutex
// holds in its first word, a procid.ID whose start-time tag no process has.
func holdByDead(m *shmsync.Mutex) {
	(*atomic.Uint64)(unsafe.Pointer(m)).Store(uint64(os.Getpid())<<32 | 0xdead)
}
