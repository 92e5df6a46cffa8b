package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// store moves frames between the pool and its hosts: a frame that fits in a message travels
// in it; a larger one is published in chunks to the values stream, read back by sequence and
// purged by whoever reads it last (the pool, for inputs once their task is done and for
// outputs once decoded), so that nothing stays behind a call. Chunks nobody purges (a pool
// that vanished) expire after valuesMaxAge.
type store struct {
	js     jetstream.JetStream
	l      layout
	st     storage
	inline int // the largest frame a message carries

	mu     sync.Mutex
	stream jetstream.Stream // created at first use
}

// valuesMaxAge bounds how long chunks nobody purges stay.
const valuesMaxAge = 24 * time.Hour

// messageRoom is what a message needs besides its frame.
const messageRoom = 8 << 10

func newStore(nc *nats.Conn, js jetstream.JetStream, l layout, st storage) *store {
	inline := int(nc.MaxPayload()) - messageRoom
	return &store{js: js, l: l, st: st, inline: max(inline, 1<<10)}
}

func (s *store) valuesStream(ctx context.Context) (jetstream.Stream, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stream != nil {
		return s.stream, nil
	}
	kind := jetstream.FileStorage
	if s.st == memoryStorage {
		kind = jetstream.MemoryStorage
	}
	name := s.l.valuesStream()
	st, err := s.js.Stream(ctx, name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		st, err = s.js.CreateStream(ctx, jetstream.StreamConfig{Name: name,
			Subjects: []string{s.l.valueSubject("*")}, Storage: kind, MaxAge: valuesMaxAge,
			AllowDirect: true}) // chunks read as they are, not in base64 inside JSON
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = s.js.Stream(ctx, name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cluster: values stream %s: %w", name, err)
	}
	s.stream = st
	return st, nil
}

// put returns how frame travels.
func (s *store) put(ctx context.Context, frame []byte) (values, error) {
	if len(frame) <= s.inline {
		return values{frame: frame}, nil
	}
	if _, err := s.valuesStream(ctx); err != nil {
		return values{}, err
	}
	v := values{id: nuid.Next()}
	subject := s.l.valueSubject(v.id)
	for at := 0; at < len(frame); at += s.inline {
		chunk := frame[at:min(at+s.inline, len(frame))]
		ack, err := s.js.Publish(ctx, subject, chunk)
		if err != nil {
			s.drop(context.WithoutCancel(ctx), v)
			return values{}, fmt.Errorf("cluster: storing a value of %d bytes: %w", len(frame), err)
		}
		v.chunks = append(v.chunks, ack.Sequence)
	}
	return v, nil
}

// get returns the frame v holds.
func (s *store) get(ctx context.Context, v values) ([]byte, error) {
	if v.id == "" {
		return v.frame, nil
	}
	st, err := s.valuesStream(ctx)
	if err != nil {
		return nil, err
	}
	var frame []byte
	for _, seq := range v.chunks {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			return nil, fmt.Errorf("cluster: reading a value: %w", err)
		}
		if m.Subject != s.l.valueSubject(v.id) {
			return nil, fmt.Errorf("%w: chunk %d is not of value %s", errMessage, seq, v.id)
		}
		frame = append(frame, m.Data...)
	}
	return frame, nil
}

// drop purges v's chunks, if it has any.
func (s *store) drop(ctx context.Context, v values) {
	if v.id == "" {
		return
	}
	st, err := s.valuesStream(ctx)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st.Purge(ctx, jetstream.WithPurgeSubject(s.l.valueSubject(v.id)))
}
