//go:build unix

package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The machine's limits: what the same hardware does with no library in the way.
// Every process-crossing figure uses a re-executed child of this binary, as
// multiproc's workers are.

const (
	pingSize    = 16      // bytes per ping-pong message: a small frame
	streamChunk = 1 << 20 // bytes per write when streaming
)

// limitChild is a re-executed child holding the other end of a socketpair.
type limitChild struct {
	cmd *exec.Cmd
	fd  int // the parent's end, a blocking socket
}

// startLimitChild re-executes this binary in mode with a socketpair end as fd 3
// and the extra files, if any, from fd 4 on. The caller closes its extra files.
func startLimitChild(mode string, extra ...*os.File) (*limitChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	syscall.ForkLock.RLock() // close-on-exec before any other child can start
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM, 0)
	if err == nil {
		unix.CloseOnExec(fds[0])
		unix.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	theirs := os.NewFile(uintptr(fds[1]), "socketpair")
	cmd := exec.Command(exe, "-limits-child="+mode)
	cmd.ExtraFiles = append([]*os.File{theirs}, extra...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	err = cmd.Start()
	theirs.Close()
	if err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	return &limitChild{cmd: cmd, fd: fds[0]}, nil
}

// close hangs up, which ends the child's loop, and reaps it.
func (c *limitChild) close() error {
	if c.fd >= 0 {
		unix.Close(c.fd)
	}
	return c.cmd.Wait()
}

// measurePingPongRaw is the floor of a request/response between two processes:
// blocking syscalls on locked threads at both ends. Microseconds per round trip.
func measurePingPongRaw(reps, n int) (*Summary, error) {
	c, err := startLimitChild("echo-raw")
	if err != nil {
		return nil, err
	}
	defer c.close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	buf := make([]byte, pingSize)
	round := func(k int) error {
		for range k {
			if err := writeFull(c.fd, buf); err != nil {
				return err
			}
			if err := readFull(c.fd, buf); err != nil {
				return err
			}
		}
		return nil
	}
	return perCall(reps, n, round)
}

// measurePingPongConn is the same through net.FileConn at both ends, as ordinary
// Go code would write it: the netpoller parks and wakes goroutines.
func measurePingPongConn(reps, n int) (*Summary, error) {
	c, err := startLimitChild("echo-conn")
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(c.fd), "socketpair")
	conn, err := net.FileConn(f) // dups the fd
	f.Close()
	c.fd = -1
	if err != nil {
		c.close()
		return nil, err
	}
	defer c.close()
	defer conn.Close()
	buf := make([]byte, pingSize)
	round := func(k int) error {
		for range k {
			if _, err := conn.Write(buf); err != nil {
				return err
			}
			if _, err := io.ReadFull(conn, buf); err != nil {
				return err
			}
		}
		return nil
	}
	return perCall(reps, n, round)
}

// perCall times reps runs of round(n) after a warm-up and returns µs per call.
func perCall(reps, n int, round func(int) error) (*Summary, error) {
	if err := round(min(n, 200)); err != nil {
		return nil, err
	}
	var samples []float64
	for range reps {
		d, err := timeIt(func() error { return round(n) })
		if err != nil {
			return nil, err
		}
		samples = append(samples, d.Seconds()/float64(n)*1e6)
	}
	s := summarize(samples)
	s.Tasks = n
	return s, nil
}

// measureSpawn re-executes 2 children until each has said "ready" over its stdout
// pipe (ms), and reads their idle memory (MiB) 0.1 s later, like the workers'.
func measureSpawn(reps int) (start *Summary, mem memSummaries, err error) {
	var startMs []float64
	var mems []memSample
	for i := range reps + 1 { // the first is a warm-up: page cache, binary mapping
		t0 := time.Now()
		kids, err := spawnReady(2)
		elapsed := time.Since(t0)
		if err != nil {
			return nil, mem, err
		}
		time.Sleep(100 * time.Millisecond)
		var pids []int
		for _, k := range kids {
			pids = append(pids, k.cmd.Process.Pid)
		}
		m, err := meanMemory(pids)
		stopReady(kids)
		if err != nil {
			return nil, mem, fmt.Errorf("child memory: %w", err)
		}
		if i > 0 {
			startMs = append(startMs, elapsed.Seconds()*1e3)
			mems = append(mems, m)
		}
	}
	return summarize(startMs), summarizeMemory(mems, "mean of the 2 children, 0.1 s after ready"), nil
}

// readyChild idles after saying "ready" until its stdin closes.
type readyChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// spawnReady starts n "ready" children at once and waits for every line.
func spawnReady(n int) ([]readyChild, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var kids []readyChild
	var outs []io.Reader
	for range n {
		k := readyChild{cmd: exec.Command(exe, "-limits-child=ready")}
		k.cmd.Stderr = os.Stderr
		out, err := k.cmd.StdoutPipe()
		if err == nil {
			k.stdin, err = k.cmd.StdinPipe()
		}
		if err == nil {
			err = k.cmd.Start()
		}
		if err != nil {
			stopReady(kids)
			return nil, err
		}
		kids, outs = append(kids, k), append(outs, out)
	}
	for i, out := range outs {
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || line != "ready\n" {
			stopReady(kids)
			return nil, fmt.Errorf("child %d said %q: %v", i, line, err)
		}
	}
	return kids, nil
}

// stopReady closes the children's stdin, which ends them, and reaps them.
func stopReady(kids []readyChild) {
	for _, k := range kids {
		k.stdin.Close()
	}
	for _, k := range kids {
		k.cmd.Wait()
	}
}

// measureStream sends size bytes over a socketpair to a sink child with raw
// syscalls on a locked thread and waits for its acknowledgement (GB/s, one way).
func measureStream(reps, size int) (*Summary, error) {
	c, err := startLimitChild("sink")
	if err != nil {
		return nil, err
	}
	defer c.close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	write := func(b []byte) error { return writeFull(c.fd, b) }
	ack := func(b []byte) error { return readFull(c.fd, b) }
	return timeStream(reps, size, write, ack)
}

// timeStream times reps streams of size bytes to a sink child: an 8-byte length,
// then the bytes in streamChunk writes from a warm buffer, then the child's one-byte
// acknowledgement. GB/s, one way, after a warm-up stream.
func timeStream(reps, size int, write, ack func([]byte) error) (*Summary, error) {
	buf := make([]byte, streamChunk)
	for i := range buf {
		buf[i] = byte(i) // touch every page before timing
	}
	send := func(total int) error {
		var hdr [8]byte
		binary.LittleEndian.PutUint64(hdr[:], uint64(total))
		if err := write(hdr[:]); err != nil {
			return err
		}
		for left := total; left > 0; left -= min(left, len(buf)) {
			if err := write(buf[:min(left, len(buf))]); err != nil {
				return err
			}
		}
		return ack(hdr[:1])
	}
	if err := send(min(size, 64*mib)); err != nil {
		return nil, err
	}
	var samples []float64
	for range reps {
		d, err := timeIt(func() error { return send(size) })
		if err != nil {
			return nil, err
		}
		samples = append(samples, float64(size)/d.Seconds()/1e9)
	}
	s := summarize(samples)
	s.Note = fmt.Sprintf("%d MiB per rep, %d KiB writes", size/mib, streamChunk>>10)
	return s, nil
}

// measureMemcpy copies 8 MiB buffers count times per rep (GB/s copied). The copies
// cycle through 8 source and 8 destination buffers, 128 MiB in all, so that they
// come from memory, as a fresh message does, and not from the cache.
func measureMemcpy(reps, count int) *Summary {
	const ring = 8
	var src, dst [ring][]byte
	for i := range ring {
		src[i], dst[i] = make([]byte, 8*mib), make([]byte, 8*mib)
		for j := range src[i] {
			src[i][j], dst[i][j] = byte(j), byte(j>>8) // fault every page in before timing
		}
	}
	var samples []float64
	for range reps {
		t0 := time.Now()
		for i := range count {
			copy(dst[i%ring], src[(i+1)%ring])
		}
		samples = append(samples, float64(count*8*mib)/time.Since(t0).Seconds()/1e9)
	}
	s := summarize(samples)
	s.Note = fmt.Sprintf("%d copies per rep through a ring of %d MiB", count, 2*ring*8)
	return s
}

// measureGoroutinePool is the in-process floor: 2 goroutines taking the same
// trivial tasks from a channel. Streaming throughput (tasks/s) and the sequential
// round trip (µs).
func measureGoroutinePool(reps, tasks, calls int) (stream, roundTrip *Summary) {
	in, out := make(chan int, 64), make(chan int, 64)
	for range 2 {
		go func() {
			for x := range in {
				out <- x * x
			}
		}()
	}
	defer close(in)
	streamRep := func(n int) float64 {
		t0 := time.Now()
		go func() {
			for i := range n {
				in <- i
			}
		}()
		for range n {
			<-out
		}
		return float64(n) / time.Since(t0).Seconds()
	}
	streamRep(tasks) // warm-up
	var rates, trips []float64
	for range reps {
		rates = append(rates, streamRep(tasks))
	}
	for range reps {
		t0 := time.Now()
		for i := range calls {
			in <- i
			<-out
		}
		trips = append(trips, time.Since(t0).Seconds()/float64(calls)*1e6)
	}
	stream, roundTrip = summarize(rates), summarize(trips)
	stream.Tasks, roundTrip.Tasks = tasks, calls
	return stream, roundTrip
}
