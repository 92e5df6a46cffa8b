package spawn

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

// output copies what a worker writes to one of its pipes to a writer, keeping the last
// tailSize bytes. It writes whole lines, each starting with prefix, so that the lines of
// workers sharing a writer do not mix. Sync copies everything already in the pipe at once,
// a partial last line included, so that output a task wrote before it returned reaches the
// writer before its result reaches the caller.
type output struct {
	mu      sync.Mutex
	r       *os.File
	rc      syscall.RawConn
	w       io.Writer
	prefix  []byte
	buf     []byte
	partial []byte // the start of a line not yet written
	out     []byte // what goes to w, prefixes added
	tail    tail
	head    crashHead
	eof     bool
	done    chan struct{}
}

const tailSize = 8 << 10

// drainMax is the most bytes drainLocked reads before it lets go of the lock: what a pipe
// holds (64 KiB) and more.
const drainMax = 1 << 20

func newOutput(r *os.File, w io.Writer, prefix string) (*output, error) {
	rc, err := r.SyscallConn()
	if err != nil {
		return nil, err
	}
	o := &output{r: r, rc: rc, w: w, prefix: []byte(prefix), buf: make([]byte, 32<<10),
		done: make(chan struct{})}
	go o.copy()
	return o, nil
}

func (o *output) copy() {
	defer close(o.done)
	defer o.r.Close()
	err := o.rc.Read(func(fd uintptr) bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.drainLocked(int(fd))
	})
	if err != nil {
		o.mu.Lock()
		o.eof = true
		o.mu.Unlock()
	}
}

// drainLocked reads until the pipe is empty (false: wait for more) or closed (true). It
// reads at most drainMax bytes a call (then false too), so that a writer faster than the copy
// cannot keep the lock from Sync and stop.
func (o *output) drainLocked(fd int) bool {
	for read := 0; !o.eof; {
		if read >= drainMax {
			return false
		}
		n, err := readPipe(fd, o.buf)
		if n > 0 {
			read += n
			o.head.write(o.buf[:n])
			o.tail.write(o.buf[:n])
			o.lines(o.buf[:n])
			continue
		}
		if errors.Is(err, syscall.EAGAIN) {
			return false
		}
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		o.eof = true // 0 bytes: end of file; or an error that will not go away
	}
	o.flushPartial()
	return true
}

// maxPartial bounds a line kept back waiting for its end.
const maxPartial = 64 << 10

// lines writes the complete lines of p (after what was kept back) and keeps the rest back.
func (o *output) lines(p []byte) {
	end := bytes.LastIndexByte(p, '\n')
	if end < 0 {
		o.partial = append(o.partial, p...)
		if len(o.partial) > maxPartial {
			o.flushPartial()
		}
		return
	}
	o.emit(o.partial, p[:end+1])
	o.partial = append(o.partial[:0], p[end+1:]...)
}

// flushPartial writes a line kept back, unfinished as it is.
func (o *output) flushPartial() {
	if len(o.partial) > 0 {
		o.emit(o.partial, nil)
		o.partial = o.partial[:0]
	}
}

// emit writes a and b, which start at a line's start, with each line prefixed.
func (o *output) emit(a, b []byte) {
	if o.w == nil {
		return
	}
	if len(o.prefix) == 0 {
		if len(a) == 0 {
			o.w.Write(b) // a failing writer must not stop the worker: keep draining
			return
		}
		o.out = append(append(o.out[:0], a...), b...)
	} else {
		o.out = o.out[:0]
		atStart := true
		for _, part := range [2][]byte{a, b} {
			for len(part) > 0 {
				if atStart {
					o.out = append(o.out, o.prefix...)
				}
				i := bytes.IndexByte(part, '\n')
				if i < 0 {
					o.out = append(o.out, part...)
					atStart = false
					break
				}
				o.out = append(o.out, part[:i+1]...)
				part = part[i+1:]
				atStart = true
			}
		}
	}
	o.w.Write(o.out)
}

// Sync copies what the pipe holds now.
func (o *output) Sync() {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.eof {
		return
	}
	o.rc.Control(func(fd uintptr) { o.drainLocked(int(fd)) })
	o.flushPartial()
}

// finish waits until the pipe is closed by every writer and all was copied, or at most
// wait: a process the worker started outside its process group may hold the pipe for as long
// as it lives. Then what the pipe holds is copied, and the copy stops: the pipe is closed, and
// whatever writes to it after fails (EPIPE, or SIGPIPE).
func (o *output) finish(wait time.Duration) {
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-o.done:
		return
	case <-t.C:
	}
	o.mu.Lock()
	if !o.eof {
		o.rc.Control(func(fd uintptr) { o.drainLocked(int(fd)) })
		o.flushPartial()
		o.eof = true
	}
	o.mu.Unlock()
	o.r.Close() // ends the copier's wait for more
	<-o.done
}

// Tail returns the last bytes written. When a Go crash report (a panic or a fatal error)
// started before them, its first lines come first: they say what happened, and a goroutine dump
// after them may have pushed them out of the tail.
func (o *output) Tail() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.tail.String()
	if h := o.head.String(); h != "" && !strings.Contains(t, h) {
		return h + "\n[...]\n" + t
	}
	return t
}

// crashHead keeps the first bytes of the last Go crash report written.
type crashHead struct {
	b    []byte
	open bool // still taking bytes of the report
	last byte // the byte before the current write
}

const crashHeadSize = 1 << 10

func (h *crashHead) write(p []byte) {
	start := -1
	for _, marker := range crashStarts {
		for i := 0; ; {
			k := bytes.Index(p[i:], []byte(marker))
			if k < 0 {
				break
			}
			at := i + k
			prev := h.last
			if at > 0 {
				prev = p[at-1]
			}
			if prev == '\n' || prev == 0 {
				if start < 0 || at < start {
					start = at
				}
				break
			}
			i = at + 1
		}
	}
	if start >= 0 {
		h.b, h.open = h.b[:0], true
		p = p[start:]
	}
	if h.open {
		n := min(len(p), crashHeadSize-len(h.b))
		h.b = append(h.b, p[:n]...)
		h.open = len(h.b) < crashHeadSize
	}
	if len(p) > 0 {
		h.last = p[len(p)-1]
	}
}

func (h *crashHead) String() string { return string(h.b) }

// tail keeps the last tailSize bytes written to it.
type tail struct {
	b    []byte
	full bool
	pos  int
}

func (t *tail) write(p []byte) {
	if t.b == nil {
		t.b = make([]byte, tailSize)
	}
	if len(p) >= tailSize {
		copy(t.b, p[len(p)-tailSize:])
		t.pos, t.full = 0, true
		return
	}
	n := copy(t.b[t.pos:], p)
	if n < len(p) {
		copy(t.b, p[n:])
		t.full = true
	}
	t.pos = (t.pos + len(p)) % tailSize
}

func (t *tail) String() string {
	if !t.full {
		return string(t.b[:t.pos])
	}
	return string(t.b[t.pos:]) + string(t.b[:t.pos])
}
