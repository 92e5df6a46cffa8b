package cluster

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// connect connects to the cluster's server within ctx, with reconnection without end (a
// server restarted, or a cluster's other server, is waited for), and makes sure the
// namespace's streams exist.
func connect(ctx context.Context, c *config, role string) (*nats.Conn, jetstream.JetStream, error) {
	opts := append([]nats.Option{
		nats.Name("multiproc " + role),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250 * time.Millisecond),
		nats.ReconnectBufSize(64 << 20),
	}, c.nats...)
	type conn struct {
		nc  *nats.Conn
		err error
	}
	done := make(chan conn, 1)
	go func() {
		nc, err := nats.Connect(c.url, opts...)
		done <- conn{nc, err}
	}()
	var nc *nats.Conn
	select {
	case r := <-done:
		if r.err != nil {
			return nil, nil, fmt.Errorf("cluster: connecting to %s: %w", c.url, r.err)
		}
		nc = r.nc
	case <-ctx.Done():
		go func() {
			if r := <-done; r.nc != nil {
				r.nc.Close()
			}
		}()
		return nil, nil, fmt.Errorf("cluster: connecting to %s: %w", c.url, ctx.Err())
	}
	// An acknowledgement that does not come (the server restarted) means: publish again.
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(5*time.Second))
	if err == nil {
		err = ensureStreams(ctx, js, layout{c.name}, c.storage)
	}
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("cluster: %s (is JetStream enabled?): %w", c.url, err)
	}
	return nc, js, nil
}

// retry calls f until it succeeds or ctx ends, waiting a little longer each time: what
// fails here is the server being away (restarted, or out of reach for a while).
func retry(ctx context.Context, f func(ctx context.Context) error) error {
	wait := 50 * time.Millisecond
	for {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := f(callCtx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}
