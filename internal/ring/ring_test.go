//go:build unix

package ring

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/sys/unix"
)

// The test binary re-executed with echoEnv set is a child that echoes its ring back.
const echoEnv = "RING_TEST_ECHO"

func TestMain(m *testing.M) {
	if os.Getenv(echoEnv) != "" {
		echo()
		return
	}
	goleak.VerifyTestMain(m)
}

// echo copies what it reads from the rings at fd 3 back until they close or it reads "bye";
// its wake-ups come over the socket at fd 4, whose end makes it exit.
func echo() {
	c, err := Open(3)
	if err != nil {
		os.Exit(2)
	}
	unix.SetNonblock(4, true) // exec made it blocking; the poller needs it not to be
	c.Listen(os.NewFile(4, "bell"), func() { os.Exit(0) })
	buf := make([]byte, 1<<16)
	for {
		n, err := c.Read(buf)
		if err != nil {
			os.Exit(0)
		}
		if bytes.Equal(buf[:n], []byte("bye")) {
			os.Exit(0)
		}
		if _, err := c.Write(buf[:n]); err != nil {
			os.Exit(3)
		}
	}
}

// pair makes both ends of a pair of rings in this process: two mappings of one memfd, as
// two processes would have, with a socketpair for their wake-ups.
func pair(t *testing.T, size int) (a, b *Conn) {
	t.Helper()
	f, a, err := Create(size)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err = Open(int(f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	sa, sb := sockets(t)
	a.Listen(sa, nil)
	b.Listen(sb, nil)
	t.Cleanup(func() { sa.Close(); sb.Close() })
	return a, b
}

// sockets returns both ends of a non-blocking socketpair.
func sockets(t testing.TB) (*os.File, *os.File) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
		if err := unix.SetNonblock(fd, true); err != nil {
			t.Fatal(err)
		}
	}
	return os.NewFile(uintptr(fds[0]), "a"), os.NewFile(uintptr(fds[1]), "b")
}

// eventually polls cond until it holds, and fails the test if it does not within 10 s.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still not %s after 10s", what)
		}
		time.Sleep(50 * time.Microsecond)
	}
}

// asleep reports whether the reader of r is asleep, or about to be.
func asleep(r *ring) bool { return r.h.readerWaits.Load() == 1 }

func TestCreateRejectsBadSizes(t *testing.T) {
	for _, size := range []int{0, 100, 4095, 6000, 3 << 12} {
		if _, _, err := Create(size); err == nil {
			t.Errorf("Create(%d) succeeded", size)
		}
	}
}

// TestStreamKeepsBytes sends 4 MiB through 4 KiB rings in writes and reads of random sizes:
// every byte arrives once, in order, across many wraps of the ring, both ways.
func TestStreamKeepsBytes(t *testing.T) {
	a, b := pair(t, 4096)
	want := make([]byte, 4<<20)
	for i := range want {
		want[i] = byte(rand.Uint32())
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		rest := want
		for len(rest) > 0 {
			n := min(len(rest), 1+rand.IntN(10000))
			if _, err := a.Write(rest[:n]); err != nil {
				t.Error(err)
				return
			}
			rest = rest[n:]
		}
	}()
	got := make([]byte, 0, len(want))
	buf := make([]byte, 9000)
	for len(got) < len(want) {
		n, err := b.Read(buf[:1+rand.IntN(len(buf)-1)])
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	wg.Wait()
	if !bytes.Equal(got, want) {
		t.Fatal("the bytes read are not the bytes written")
	}
	// And the other way.
	if _, err := b.Write([]byte("back")); err != nil {
		t.Fatal(err)
	}
	n, err := a.Read(buf)
	if err != nil || string(buf[:n]) != "back" {
		t.Fatalf("read %q, %v; want back", buf[:n], err)
	}
}

// TestCloseWakesReader: a reader asleep on an empty ring returns what was written before the
// close, then io.EOF, when the other side closes.
func TestCloseWakesReader(t *testing.T) {
	a, b := pair(t, 4096)
	done := make(chan error, 1)
	go func() {
		buf := make([]byte, 16)
		n, err := b.Read(buf)
		if err != nil || string(buf[:n]) != "last" {
			done <- errors.New("first read: " + string(buf[:n]))
			return
		}
		_, err = b.Read(buf)
		done <- err
	}()
	eventually(t, "asleep", func() bool { return asleep(&b.Reader.ring) })
	a.Write([]byte("last"))
	a.Close()
	select {
	case err := <-done:
		if err != io.EOF {
			t.Fatalf("read after close: %v, want io.EOF", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a reader was not woken by Close")
	}
}

// TestCloseWakesWriter: a writer waiting for room in a full ring fails with ErrClosed when
// the ring is closed, by either side.
func TestCloseWakesWriter(t *testing.T) {
	for _, closer := range []string{"writer's side", "reader's side"} {
		t.Run(closer, func(t *testing.T) {
			a, b := pair(t, 4096)
			done := make(chan error, 1)
			go func() {
				_, err := a.Write(make([]byte, 3*4096))
				done <- err
			}()
			eventually(t, "waiting for room", func() bool { return a.Writer.h.writerWaits.Load() == 1 })
			if closer == "writer's side" {
				a.Close()
			} else {
				b.Close()
			}
			select {
			case err := <-done:
				if !errors.Is(err, ErrClosed) {
					t.Fatalf("write to a closed ring: %v, want ErrClosed", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("a writer was not woken by Close")
			}
		})
	}
}

// countingWaiter polls for a fixed time and counts the outcomes. Each Poll sends on asked,
// if set.
type countingWaiter struct {
	poll       time.Duration
	hits, miss int
	asked      chan struct{}
}

func (w *countingWaiter) Poll() time.Duration {
	if w.asked != nil {
		w.asked <- struct{}{}
	}
	return w.poll
}
func (w *countingWaiter) Polled(hit bool) {
	if hit {
		w.hits++
	} else {
		w.miss++
	}
}

// TestWaiter: a Read that finds the ring empty asks its Waiter once and reports the outcome:
// a miss when nothing came while it polled, a hit when something did.
func TestWaiter(t *testing.T) {
	a, b := pair(t, 4096)
	w := &countingWaiter{poll: time.Millisecond, asked: make(chan struct{}, 1)}
	b.Waiter = w
	go func() { // after the reader polled in vain and went to sleep
		eventually(t, "asleep", func() bool { return asleep(&b.Reader.ring) })
		a.Write([]byte("x"))
	}()
	buf := make([]byte, 4)
	if _, err := b.Read(buf); err != nil {
		t.Fatal(err)
	}
	if w.hits != 0 || w.miss != 1 {
		t.Fatalf("after a message that came late: %d hits, %d misses; want 0, 1", w.hits, w.miss)
	}
	<-w.asked
	w.poll = 5 * time.Second
	go func() { // while the reader polls
		<-w.asked
		a.Write([]byte("y"))
	}()
	if _, err := b.Read(buf); err != nil {
		t.Fatal(err)
	}
	if w.hits != 1 || w.miss != 1 {
		t.Fatalf("after a message that came while polling: %d hits, %d misses; want 1, 1", w.hits, w.miss)
	}
	a.Write([]byte("z"))
	b.Read(buf)
	if w.hits != 1 || w.miss != 1 {
		t.Fatalf("a read that found bytes asked its Waiter (%d hits, %d misses)", w.hits, w.miss)
	}
	// Whatever the size of the read: the worker's Waiter is where it writes the results it
	// kept back when it runs out of input, and a read with a large buffer (a bufio.Reader's)
	// that skipped it left them waiting.
	w.poll = time.Millisecond
	go func() {
		<-w.asked
		a.Write([]byte("w"))
	}()
	if _, err := b.Read(make([]byte, 1<<20)); err != nil {
		t.Fatal(err)
	}
	if w.hits+w.miss != 3 {
		t.Fatalf("a large read of an empty ring did not ask its Waiter (%d hits, %d misses)", w.hits, w.miss)
	}
}

// TestAcrossProcesses echoes messages of many sizes through a child process: the memory is
// shared for real, and wake-ups cross between processes.
func TestAcrossProcesses(t *testing.T) {
	c, cmd := startEcho(t)
	defer cmd.Wait()
	buf := make([]byte, 1<<20)
	for i, size := range []int{1, 100, 4096, 65536, 1 << 20} {
		if i%2 == 1 { // sometimes the child sleeps, sometimes not
			eventually(t, "asleep", func() bool { return asleep(&c.Writer.ring) })
		}
		msg := bytes.Repeat([]byte{byte(size)}, size)
		go c.Write(msg)
		if _, err := io.ReadFull(c, buf[:size]); err != nil {
			t.Fatalf("echo of %d bytes: %v", size, err)
		}
		if !bytes.Equal(buf[:size], msg) {
			t.Fatalf("echo of %d bytes came back changed", size)
		}
	}
	c.Write([]byte("bye"))
	if err := cmd.Wait(); err != nil {
		t.Fatalf("echo child: %v", err)
	}
}

// startEcho starts the test binary as an echo child on 64 KiB rings, and returns this
// process's end; the socket closes when the test ends.
func startEcho(t testing.TB) (*Conn, *exec.Cmd) {
	f, c, err := Create(1 << 16)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mine, theirs := sockets(t)
	t.Cleanup(func() { mine.Close() })
	defer theirs.Close()
	c.Listen(mine, nil)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), echoEnv+"=1")
	cmd.ExtraFiles = []*os.File{f, theirs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return c, cmd
}

func BenchmarkRoundTrip(b *testing.B) {
	c, cmd := startEcho(b)
	c.Reader.Waiter = &countingWaiter{poll: time.Millisecond}
	msg := make([]byte, 16)
	b.ResetTimer()
	for range b.N {
		c.Write(msg)
		io.ReadFull(c, msg)
	}
	b.StopTimer()
	c.Write([]byte("bye"))
	cmd.Wait()
}
