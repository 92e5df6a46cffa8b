package wire

import "fmt"

// Hello is the worker's first frame: who it is and what it speaks.
type Hello struct {
	Version  uint32
	Pid      uint32
	Identity string // the binary's identity; must equal the parent's
	// Token is the address of a word in the worker's memory that holds TokenValue: the
	// parent reads it to learn whether it can reach the worker's memory (see peermem).
	Token, TokenValue uint64
}

// EncodeHello appends a Hello frame.
func EncodeHello(e *Encoder, h Hello) error {
	e.Begin(KindHello, 0, 0)
	e.Uint32(h.Version)
	e.Uint32(h.Pid)
	e.String(h.Identity)
	e.Uint64(h.Token)
	e.Uint64(h.TokenValue)
	return e.End()
}

// DecodeHello reads a Hello frame.
func DecodeHello(d *Decoder, f Frame) (Hello, error) {
	if f.Kind != KindHello {
		return Hello{}, fmt.Errorf("%w: expected a hello frame, got %v", ErrProtocol, f.Kind)
	}
	d.Next(f)
	var h Hello
	var err error
	if h.Version, err = d.Uint32(); err != nil {
		return h, err
	}
	if h.Pid, err = d.Uint32(); err != nil {
		return h, err
	}
	if h.Identity, err = d.String(); err != nil {
		return h, err
	}
	if h.Token, err = d.Uint64(); err != nil {
		return h, err
	}
	h.TokenValue, err = d.Uint64()
	return h, err
}

// BatchHeader precedes a batch's inputs (a gob value holding all of them).
type BatchHeader struct {
	Func    string
	Count   uint32 // number of items
	Timeout int64  // per item, in nanoseconds; 0 for none
	Attempt uint32 // 1 for the first run of these items
}

// EncodeBatchHeader opens a Batch frame and writes h; the caller appends the inputs and Ends.
func EncodeBatchHeader(e *Encoder, id uint64, h BatchHeader) {
	e.Begin(KindBatch, 0, id)
	e.String(h.Func)
	e.Uint32(h.Count)
	e.Uint64(uint64(h.Timeout))
	e.Uint32(h.Attempt)
}

// DecodeBatchHeader reads the header of a Batch frame; the inputs follow.
func DecodeBatchHeader(d *Decoder) (BatchHeader, error) {
	var h BatchHeader
	var err error
	if h.Func, err = d.String(); err != nil {
		return h, err
	}
	if h.Count, err = d.Uint32(); err != nil {
		return h, err
	}
	t, err := d.Uint64()
	if err != nil {
		return h, err
	}
	h.Timeout = int64(t)
	h.Attempt, err = d.Uint32()
	return h, err
}

// Error is a task's failure as it crosses the process boundary.
type Error struct {
	Type      string   // the error's dynamic type, as %T prints it
	Message   string   // err.Error(), or the panic value
	Sentinels []string // keys of the registered sentinels that errors.Is matches
	Panic     bool
	Stack     string // the panicking goroutine's stack
}

// EncodeCancel appends a Cancel frame: stop the batch id, whose items not yet run end
// unrun.
func EncodeCancel(e *Encoder, id uint64) {
	e.Begin(KindCancel, 0, id)
	e.End() // an empty frame is never over the limit
}

// EncodeExit appends an Exit frame: finish what is queued, then exit.
func EncodeExit(e *Encoder) {
	e.Begin(KindExit, 0, 0)
	e.End()
}

// BeginOutputs opens an Outputs frame about items lo..hi-1 of batch id and writes that range;
// the caller appends the outputs (none when lo == hi) and Ends, or Aborts.
func BeginOutputs(e *Encoder, id uint64, flags uint8, lo, hi uint32) {
	e.Begin(KindOutputs, flags, id)
	e.Uint32(lo)
	e.Uint32(hi)
}

// DecodeOutputsRange reads the range of items an Outputs frame holds; their outputs follow.
func DecodeOutputsRange(d *Decoder) (lo, hi uint32, err error) {
	if lo, err = d.Uint32(); err != nil {
		return 0, 0, err
	}
	if hi, err = d.Uint32(); err != nil {
		return 0, 0, err
	}
	if hi < lo {
		return 0, 0, fmt.Errorf("%w: outputs %d..%d", ErrProtocol, lo, hi)
	}
	return lo, hi, nil
}

// EncodeFailure appends a Failure frame: item of batch id failed with werr.
func EncodeFailure(e *Encoder, id uint64, item uint32, werr Error) error {
	e.Begin(KindFailure, 0, id)
	e.Uint32(item)
	if err := e.Value(&werr); err != nil {
		return err
	}
	return e.End()
}

// DecodeFailure reads a Failure frame.
func DecodeFailure(d *Decoder) (item uint32, werr Error, err error) {
	if item, err = d.Uint32(); err != nil {
		return 0, Error{}, err
	}
	err = d.Value(&werr)
	return item, werr, err
}
