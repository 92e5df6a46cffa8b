package cluster

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The layout of a namespace N on the server (every name below is made here, and only here):
//
//	stream MP_N_TASKS    subject mp.N.task          work queue: one message per batch of a call's
//	                                                items; removed when a host acks it, after
//	                                                it has published the batch's results
//	  consumer hosts     every host pulls from it; AckWait is LostAfter
//	stream MP_N_RESULTS  subjects mp.N.result.<pool>  work queue: results of the pool's batches
//	  consumer <pool>    the pool's own, filtered on its subject; gone when the pool closes
//	stream MP_N_VALUES   subjects mp.N.value.<id>   inputs and outputs too large for a message,
//	                                                in chunks; purged once read (see store)
//	subject mp.N.cancel  (core NATS) a pool's cancelled calls, for the hosts running them
//	subject mp.N.host    (core NATS) each host says every second that it is there, and with
//	                                 how many workers
type layout struct {
	name string
}

func (l layout) tasksStream() string   { return "MP_" + l.name + "_TASKS" }
func (l layout) resultsStream() string { return "MP_" + l.name + "_RESULTS" }
func (l layout) valuesStream() string  { return "MP_" + l.name + "_VALUES" }
func (l layout) valueSubject(id string) string {
	return "mp." + l.name + ".value." + id
}
func (l layout) taskSubject() string { return "mp." + l.name + ".task" }
func (l layout) resultSubject(pool string) string {
	return "mp." + l.name + ".result." + pool
}
func (l layout) cancelSubject() string { return "mp." + l.name + ".cancel" }
func (l layout) hostSubject() string   { return "mp." + l.name + ".host" }

// hostsConsumer is the durable consumer all hosts of a namespace pull tasks from.
const hostsConsumer = "hosts"

// dupWindow is how long the server remembers a message's id to drop a second publish of it
// (a publish retried after a lost acknowledgement).
const dupWindow = 2 * time.Minute

// resultsMaxAge bounds how long results nobody collects (a pool that vanished) stay.
const resultsMaxAge = 24 * time.Hour

// ensureStreams creates the namespace's streams if they do not exist yet; existing ones are
// used as they are.
func ensureStreams(ctx context.Context, js jetstream.JetStream, l layout, st storage) error {
	kind := jetstream.FileStorage
	if st == memoryStorage {
		kind = jetstream.MemoryStorage
	}
	for _, cfg := range []jetstream.StreamConfig{
		{Name: l.tasksStream(), Subjects: []string{l.taskSubject()}, Retention: jetstream.WorkQueuePolicy,
			Storage: kind, Duplicates: dupWindow},
		{Name: l.resultsStream(), Subjects: []string{l.resultSubject("*")}, Retention: jetstream.WorkQueuePolicy,
			Storage: kind, Duplicates: dupWindow, MaxAge: resultsMaxAge},
	} {
		if _, err := js.Stream(ctx, cfg.Name); err == nil {
			continue
		} else if !errors.Is(err, jetstream.ErrStreamNotFound) {
			return fmt.Errorf("stream %s: %w", cfg.Name, err)
		}
		if _, err := js.CreateStream(ctx, cfg); err != nil && !errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			return fmt.Errorf("creating stream %s: %w", cfg.Name, err)
		}
	}
	return nil
}

// hostsConsumerConfig is the consumer the hosts share.
func hostsConsumerConfig(lostAfter time.Duration) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:       hostsConsumer,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       lostAfter,
		MaxDeliver:    -1,
		MaxAckPending: -1,
		MaxWaiting:    4096,
	}
}

// resultsConsumerConfig is a pool's consumer of its results.
func resultsConsumerConfig(l layout, pool string) jetstream.ConsumerConfig {
	return jetstream.ConsumerConfig{
		Durable:           "pool_" + pool,
		FilterSubject:     l.resultSubject(pool),
		AckPolicy:         jetstream.AckExplicitPolicy,
		AckWait:           30 * time.Second,
		MaxDeliver:        -1,
		MaxAckPending:     -1,
		InactiveThreshold: time.Hour, // a pool that vanished without closing
	}
}
