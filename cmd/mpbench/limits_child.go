//go:build unix

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime"

	"golang.org/x/sys/unix"
)

// The machine-limit children are re-executions of this binary with
// -limits-child=MODE and no multiproc environment, so multiproc.Main returns and
// main comes here. The parent passes its end of a socketpair as fd 3 and, to the
// ring children, the memfd of a pair of rings as fd 4.
const (
	childFD = 3
	ringFD  = 4
)

// runLimitsChild serves one child mode until the parent closes its end.
func runLimitsChild(mode string) error {
	switch mode {
	case "echo-raw":
		return echoRaw(childFD)
	case "echo-conn":
		return echoConn(os.NewFile(childFD, "socketpair"))
	case "sink":
		return sink(childFD)
	case "burn":
		return burnChild(childFD)
	case "echo-ring":
		return echoRing()
	case "sink-ring":
		return sinkRing()
	case "ready":
		return ready()
	}
	return fmt.Errorf("unknown -limits-child mode %q", mode)
}

// echoRaw answers every message with itself using blocking read/write syscalls on a
// thread of its own: no netpoller, no goroutine hand-off, the floor of a round trip.
func echoRaw(fd int) error {
	runtime.LockOSThread()
	buf := make([]byte, pingSize)
	for {
		if err := readFull(fd, buf); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if err := writeFull(fd, buf); err != nil {
			return err
		}
	}
}

// echoConn is echoRaw through net.FileConn, the way ordinary Go code talks over a
// socket: every read that would block parks the goroutine on the netpoller.
func echoConn(f *os.File) error {
	c, err := net.FileConn(f)
	if err != nil {
		return err
	}
	f.Close()
	defer c.Close()
	buf := make([]byte, pingSize)
	for {
		if _, err := io.ReadFull(c, buf); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if _, err := c.Write(buf); err != nil {
			return err
		}
	}
}

// sink reads streams of the form [8-byte length][length bytes], discards them and
// acknowledges each with one byte, so the parent times the whole transfer.
func sink(fd int) error {
	runtime.LockOSThread()
	hdr := make([]byte, 8)
	buf := make([]byte, streamChunk)
	for {
		if err := readFull(fd, hdr); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		for left := binary.LittleEndian.Uint64(hdr); left > 0; {
			n, err := unix.Read(fd, buf[:min(left, uint64(len(buf)))])
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			if n == 0 {
				return io.ErrUnexpectedEOF
			}
			left -= uint64(n)
		}
		if err := writeFull(fd, hdr[:1]); err != nil {
			return err
		}
	}
}

// ready says so on stdout and then idles until stdin closes, so that the parent can
// time the start and read the idle RSS.
func ready() error {
	if _, err := os.Stdout.WriteString("ready\n"); err != nil {
		return err
	}
	_, err := io.Copy(io.Discard, os.Stdin)
	return err
}

// readFull reads len(buf) bytes with raw syscalls. A blocking read can return EINTR
// when the Go runtime signals the thread (preemption), so it retries.
func readFull(fd int, buf []byte) error {
	for got := 0; got < len(buf); {
		n, err := unix.Read(fd, buf[got:])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		if n == 0 {
			if got == 0 {
				return io.EOF
			}
			return io.ErrUnexpectedEOF
		}
		got += n
	}
	return nil
}

func writeFull(fd int, buf []byte) error {
	for len(buf) > 0 {
		n, err := unix.Write(fd, buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		buf = buf[n:]
	}
	return nil
}
