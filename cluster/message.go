package cluster

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"syscall"
	"time"

	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/wire"
)

// The two messages of the protocol, each a version byte and fields in little endian (strings
// length first). Values travel as one wire frame encoded on a fresh stream, so that each
// message is decodable on its own; a frame too large for a message travels in chunks (see
// store) and the message says where they are.
//
//	task     version pool id job lo hi attempt retries timeout func values
//	result   version task attempt host count segment...
//	segment  lo hi (0 values | 1 failure-as-json)
//	values  0 frame | 1 id count seq...
const protocolVersion = 1

// task is a batch of a call's items: lo..hi-1 of the job.
type task struct {
	pool    string
	id      uint64 // the pool's number for it: its result names it
	job     uint64
	lo, hi  int
	attempt int           // 1 for a first run
	retries int           // the pool's Retries
	timeout time.Duration // per item; 0 for none
	fn      string
	values  values
}

// values is a wire frame, or where its chunks are in the values stream (see store).
type values struct {
	frame  []byte
	id     string   // the chunks' subject's last token
	chunks []uint64 // their sequence numbers, in order
}

// result is the outcome of a task: its items in consecutive segments, each with its outputs
// or one failure for all its items.
type result struct {
	task     uint64
	attempt  int
	host     string
	segments []segment
}

type segment struct {
	lo, hi int
	failed *failure
	values values
}

var errMessage = errors.New("cluster: malformed message")

type writer struct{ b []byte }

func (w *writer) u8(v uint8)     { w.b = append(w.b, v) }
func (w *writer) u32(v int)      { w.b = binary.LittleEndian.AppendUint32(w.b, uint32(v)) }
func (w *writer) u64(v uint64)   { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *writer) str(s string)   { w.u32(len(s)); w.b = append(w.b, s...) }
func (w *writer) bytes(b []byte) { w.u32(len(b)); w.b = append(w.b, b...) }
func (w *writer) values(v values) {
	if v.id != "" {
		w.u8(1)
		w.str(v.id)
		w.u32(len(v.chunks))
		for _, seq := range v.chunks {
			w.u64(seq)
		}
		return
	}
	w.u8(0)
	w.bytes(v.frame)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) take(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		r.err = errMessage
		return nil
	}
	b := r.b[:n:n]
	r.b = r.b[n:]
	return b
}
func (r *reader) u8() uint8 {
	if b := r.take(1); b != nil {
		return b[0]
	}
	return 0
}
func (r *reader) u32() int {
	if b := r.take(4); b != nil {
		return int(binary.LittleEndian.Uint32(b))
	}
	return 0
}
func (r *reader) u64() uint64 {
	if b := r.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}
func (r *reader) str() string   { return string(r.take(r.u32())) }
func (r *reader) bytes() []byte { return r.take(r.u32()) }
func (r *reader) values() values {
	if r.u8() == 1 {
		v := values{id: r.str()}
		n := r.u32()
		if n > len(r.b)/8 {
			r.err = errMessage
			return v
		}
		for range n {
			v.chunks = append(v.chunks, r.u64())
		}
		return v
	}
	return values{frame: r.bytes()}
}

func encodeTask(t *task) []byte {
	w := &writer{b: make([]byte, 0, 64+len(t.fn)+len(t.values.frame))}
	w.u8(protocolVersion)
	w.str(t.pool)
	w.u64(t.id)
	w.u64(t.job)
	w.u32(t.lo)
	w.u32(t.hi)
	w.u32(t.attempt)
	w.u32(t.retries)
	w.u64(uint64(t.timeout))
	w.str(t.fn)
	w.values(t.values)
	return w.b
}

func decodeTask(b []byte) (*task, error) {
	r := &reader{b: b}
	if v := r.u8(); v != protocolVersion {
		return nil, fmt.Errorf("%w: protocol version %d, this binary speaks %d", errMessage, v, protocolVersion)
	}
	t := &task{pool: r.str(), id: r.u64(), job: r.u64(), lo: r.u32(), hi: r.u32(), attempt: r.u32(), retries: r.u32(),
		timeout: time.Duration(r.u64()), fn: r.str()}
	t.values = r.values()
	if r.err == nil && (t.hi <= t.lo || t.attempt < 1) {
		r.err = errMessage
	}
	return t, r.err
}

func encodeResult(res *result) ([]byte, error) {
	w := &writer{b: make([]byte, 0, 64)}
	w.u8(protocolVersion)
	w.u64(res.task)
	w.u32(res.attempt)
	w.str(res.host)
	w.u32(len(res.segments))
	for _, sg := range res.segments {
		w.u32(sg.lo)
		w.u32(sg.hi)
		if sg.failed != nil {
			j, err := json.Marshal(sg.failed)
			if err != nil {
				return nil, err
			}
			w.u8(1)
			w.bytes(j)
			continue
		}
		w.u8(0)
		w.values(sg.values)
	}
	return w.b, nil
}

func decodeResult(b []byte) (*result, error) {
	r := &reader{b: b}
	if v := r.u8(); v != protocolVersion {
		return nil, fmt.Errorf("%w: protocol version %d, this binary speaks %d", errMessage, v, protocolVersion)
	}
	res := &result{task: r.u64(), attempt: r.u32(), host: r.str()}
	n := r.u32()
	if n > len(r.b)/9 {
		return nil, errMessage
	}
	for range n {
		sg := segment{lo: r.u32(), hi: r.u32()}
		if r.u8() == 1 {
			sg.failed = &failure{}
			if j := r.bytes(); r.err == nil {
				if err := json.Unmarshal(j, sg.failed); err != nil {
					return nil, fmt.Errorf("%w: %v", errMessage, err)
				}
			}
		} else {
			sg.values = r.values()
		}
		if r.err == nil && sg.hi <= sg.lo {
			r.err = errMessage
		}
		res.segments = append(res.segments, sg)
	}
	return res, r.err
}

// failure is a backend failure as it travels from a host: the failures of internal/backend,
// rebuilt on the pool's side so that the root package reports them as for a local pool.
type failure struct {
	Kind    string      `json:"k"`
	Death   *death      `json:"d,omitempty"`
	After   int64       `json:"a,omitempty"` // timeout, ns; or how long no worker could start
	Limit   int64       `json:"l,omitempty"` // memory limit, bytes
	Remote  *wire.Error `json:"r,omitempty"`
	Message string      `json:"m,omitempty"`
	// Final: a death the host counted against Retries already (its task's earlier host
	// vanished, see host.lost): the pool does not send it again.
	Final bool `json:"f,omitempty"`
}

type death struct {
	Pid      int    `json:"p"`
	ExitCode int    `json:"e"`
	Signal   int    `json:"s"`
	Stderr   string `json:"o,omitempty"`
	Cause    string `json:"c,omitempty"`
}

func toDeath(d backend.Death) *death {
	out := &death{Pid: d.Pid, ExitCode: d.ExitCode, Signal: int(d.Signal), Stderr: d.Stderr}
	if d.Cause != nil {
		out.Cause = d.Cause.Error()
	}
	return out
}

func (d *death) backend() backend.Death {
	if d == nil {
		return backend.Death{ExitCode: -1}
	}
	out := backend.Death{Pid: d.Pid, ExitCode: d.ExitCode, Signal: syscall.Signal(d.Signal), Stderr: d.Stderr}
	if d.Cause != "" {
		out.Cause = errors.New(d.Cause)
	}
	return out
}

// failureOf describes err, a failure a host's local backend reported, for the pool.
func failureOf(err error) *failure {
	var (
		died    *backend.DiedError
		timeout *backend.TimeoutError
		memory  *backend.MemoryError
		rem     *backend.RemoteError
		start   *backend.StartError
	)
	switch {
	case errors.As(err, &died):
		return &failure{Kind: "died", Death: toDeath(died.Death)}
	case errors.As(err, &timeout):
		return &failure{Kind: "timeout", After: int64(timeout.After)}
	case errors.As(err, &memory):
		return &failure{Kind: "memory", Death: toDeath(memory.Death), Limit: memory.Limit}
	case errors.As(err, &rem):
		we := rem.Err
		return &failure{Kind: "remote", Remote: &we}
	case errors.As(err, &start):
		return &failure{Kind: "start", Death: toDeath(start.Death), After: int64(start.Lasting), Message: start.Err.Error()}
	}
	return &failure{Kind: "other", Message: err.Error()}
}

// err is the failure as the backend error the root package converts.
func (f *failure) err() error {
	switch f.Kind {
	case "died":
		return &backend.DiedError{Death: f.Death.backend()}
	case "timeout":
		return &backend.TimeoutError{After: time.Duration(f.After)}
	case "memory":
		return &backend.MemoryError{Death: f.Death.backend(), Limit: f.Limit}
	case "remote":
		if f.Remote != nil {
			return &backend.RemoteError{Err: *f.Remote}
		}
	case "start":
		return &backend.StartError{Death: f.Death.backend(), Err: errors.New(f.Message), Lasting: time.Duration(f.After)}
	}
	return &backend.RemoteError{Err: wire.Error{Type: "*errors.errorString", Message: "cluster: " + f.Message}}
}

// frameOf encodes items lo..hi-1 with encode into one self-contained frame.
func frameOf(encode func(enc *wire.Encoder) error) ([]byte, error) {
	enc := wire.NewEncoder()
	enc.Begin(wire.KindBatch, 0, 0)
	if err := encode(enc); err != nil {
		return nil, err
	}
	if err := enc.End(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(enc.Len())
	if _, err := enc.WriteTo(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decoderOf returns a decoder of the frame b, on a fresh stream.
func decoderOf(b []byte) (*wire.Decoder, error) {
	f, err := wire.NewReader(bytes.NewReader(b), 0).Read()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errMessage, err)
	}
	dec := wire.NewDecoder()
	dec.Next(f)
	return dec, nil
}
