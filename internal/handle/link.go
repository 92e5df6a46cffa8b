//go:build unix

package handle

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/multiproc/multiproc/internal/procid"
)

// A link is a unix stream socket between two processes, a parent and a child it started,
// through which each fetches descriptors of objects from the other. Messages are msgSize
// bytes, little endian:
//
//	0  op      uint8, then 7 bytes of zero
//	8  request uint64: matches a reply to its fetch
//	16 creator uint64 ┐ the object's Key (fetch, done)
//	24 serial  uint64 ┘
//
// opFetch asks for an object's descriptor; the answer is opGive with the descriptor attached
// (SCM_RIGHTS), or opMissing. opDone says a token was read by a process that had the object
// already, so that its writer may let go of the descriptor.
const msgSize = 32

const (
	opFetch = 1 + iota
	opGive
	opMissing
	opDone
)

// errLinkClosed is the error of a fetch whose link closed: the other process ended.
var errLinkClosed = errors.New("the process at the other end has ended")

type message struct {
	op      uint8
	request uint64
	key     Key
}

func (m message) bytes() []byte {
	b := make([]byte, msgSize)
	b[0] = m.op
	binary.LittleEndian.PutUint64(b[8:], m.request)
	binary.LittleEndian.PutUint64(b[16:], uint64(m.key.Creator))
	binary.LittleEndian.PutUint64(b[24:], m.key.Serial)
	return b
}

func parseMessage(b []byte) message {
	return message{op: b[0], request: binary.LittleEndian.Uint64(b[8:]),
		key: Key{procid.ID(binary.LittleEndian.Uint64(b[16:])), binary.LittleEndian.Uint64(b[24:])}}
}

// reply is what a fetch receives.
type reply struct {
	f   *os.File
	err error
}

type link struct {
	sock *os.File // non-blocking: reads and writes park in the runtime's poller
	raw  syscall.RawConn
	pid  int // the process at the other end

	wmu sync.Mutex // serialises writes

	mu      sync.Mutex // guards the fields below
	pending map[uint64]chan reply
	next    uint64
	serving bool
	closed  bool
	onClose func() // called once, when the link closes
}

func newLink(sock *os.File, pid int) (*link, error) {
	raw, err := sock.SyscallConn()
	if err != nil {
		return nil, err
	}
	return &link{sock: sock, raw: raw, pid: pid, pending: make(map[uint64]chan reply)}, nil
}

// serveOnce starts the goroutine that reads the link, unless it runs already.
func (l *link) serveOnce() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.serving || l.closed {
		return
	}
	l.serving = true
	go l.serve()
}

// fetch asks the other process for the descriptor of key.
func (l *link) fetch(key Key) (*os.File, error) {
	l.serveOnce()
	ch := make(chan reply, 1)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, errLinkClosed
	}
	l.next++
	req := l.next
	l.pending[req] = ch
	l.mu.Unlock()
	if err := l.send(message{op: opFetch, request: req, key: key}, -1); err != nil {
		l.mu.Lock()
		delete(l.pending, req)
		l.mu.Unlock()
		return nil, err
	}
	r := <-ch
	return r.f, r.err
}

// done tells the other process that a token of key it wrote was read here.
func (l *link) done(key Key) { l.send(message{op: opDone, key: key}, -1) }

// send writes m, with the descriptor fd attached unless it is -1.
func (l *link) send(m message, fd int) error {
	b := m.bytes()
	var oob []byte
	if fd >= 0 {
		oob = unix.UnixRights(fd)
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	for len(b) > 0 {
		var n int
		var err error
		werr := l.raw.Write(func(s uintptr) bool {
			n, err = unix.SendmsgN(int(s), b, oob, nil, 0)
			return err != unix.EAGAIN
		})
		if werr != nil {
			return werr
		}
		if err != nil {
			return fmt.Errorf("handle link: %w", err)
		}
		b, oob = b[n:], nil // the descriptor went with the first byte
	}
	return nil
}

// receive reads one message and the descriptor sent with it, if any.
func (l *link) receive() (message, *os.File, error) {
	buf := make([]byte, msgSize)
	oob := make([]byte, unix.CmsgSpace(4))
	var got *os.File
	for have := 0; have < msgSize; {
		var n, oobn int
		var err error
		rerr := l.raw.Read(func(s uintptr) bool {
			n, oobn, err = recvmsg(int(s), buf[have:], oob)
			return err != unix.EAGAIN
		})
		if rerr != nil {
			err = rerr
		}
		if err == nil && n == 0 {
			err = io.EOF
		}
		if oobn > 0 {
			if f := rightsFile(oob[:oobn]); f != nil {
				if got != nil {
					got.Close()
				}
				got = f
			}
		}
		if err != nil {
			if got != nil {
				got.Close()
			}
			return message{}, nil, err
		}
		have += n
	}
	return parseMessage(buf), got, nil
}

// rightsFile returns the descriptor a control message carries, closing any beyond the first.
func rightsFile(oob []byte) *os.File {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	var f *os.File
	for _, m := range msgs {
		fds, err := unix.ParseUnixRights(&m)
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if f == nil {
				f = os.NewFile(uintptr(fd), "multiproc-shared")
			} else {
				unix.Close(fd)
			}
		}
	}
	return f
}

// serve reads the link until it closes, answering fetches and delivering replies.
func (l *link) serve() {
	for {
		m, f, err := l.receive()
		if err != nil {
			l.close()
			return
		}
		switch m.op {
		case opFetch:
			l.give(m)
		case opGive, opMissing:
			r := reply{f: f}
			if m.op == opMissing || f == nil {
				r = reply{err: errors.New("the process that sent it no longer has it")}
				if f != nil {
					f.Close()
				}
			}
			l.mu.Lock()
			ch := l.pending[m.request]
			delete(l.pending, m.request)
			l.mu.Unlock()
			if ch == nil {
				if r.f != nil {
					r.f.Close()
				}
				continue
			}
			ch <- r
			continue
		case opDone:
			table.mu.Lock()
			o := table.objects[m.key]
			table.mu.Unlock()
			if o != nil {
				o.unpin()
			}
		}
		if f != nil {
			f.Close() // a descriptor with a message that carries none
		}
	}
}

// give answers a fetch.
func (l *link) give(m message) {
	o := lookup(m.key)
	if o == nil {
		l.send(message{op: opMissing, request: m.request}, -1)
		return
	}
	table.mu.Lock()
	fd := int(o.file.Fd())
	table.mu.Unlock()
	// The reference lookup took keeps the descriptor open while it is sent.
	l.send(message{op: opGive, request: m.request}, fd)
	o.unpin()
	o.Release(false)
}

// close closes the link and fails the fetches waiting on it. Safe to call more than once.
func (l *link) close() {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return
	}
	l.closed = true
	pending := l.pending
	l.pending = nil
	onClose := l.onClose
	l.mu.Unlock()
	l.sock.Close()
	for _, ch := range pending {
		ch <- reply{err: errLinkClosed}
	}
	if onClose != nil {
		onClose()
	}
}
