package cluster

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/wire"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// countingWork is a Work of uint64 items that doubles them, and counts the Finish calls.
type countingWork struct {
	ins, outs []uint64
	mu        sync.Mutex
	finished  []int // per item
	done      chan struct{}
	left      int
}

func (w *countingWork) Func() string { return "double" }
func (w *countingWork) EncodeInputs(enc *wire.Encoder, lo, hi int) error {
	for _, v := range w.ins[lo:hi] {
		enc.Uint64(v)
	}
	return nil
}
func (w *countingWork) DecodeOutputs(dec *wire.Decoder, lo, hi int) error {
	for i := lo; i < hi; i++ {
		v, err := dec.Uint64()
		if err != nil {
			return err
		}
		w.outs[i] = v
	}
	return nil
}
func (w *countingWork) Finish(lo, hi int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i := lo; i < hi; i++ {
		w.finished[i]++
		if w.left--; w.left == 0 {
			close(w.done)
		}
	}
}

// TestTaskRunTwice: when a task runs twice (JetStream redelivered it, say) and both runs
// publish a result, the call gets each item once, from the first.
func TestTaskRunTwice(t *testing.T) {
	ts := startServer(t)
	c, err := newConfig(ts.url(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := dial(c, backend.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(true)
	ctx := testContext(t, time.Minute)
	w := &countingWork{ins: []uint64{1, 2, 3, 4}, outs: make([]uint64, 4), finished: make([]int, 4),
		done: make(chan struct{}), left: 4}
	j, err := p.NewJob(ctx, w)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Release()
	j.Submit(0, 2)
	j.Submit(2, 4)

	// A fake host: it takes both tasks and publishes each one's result twice.
	nc, err := nats.Connect(ts.url())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	cons, err := js.CreateOrUpdateConsumer(ctx, p.l.tasksStream(), hostsConsumerConfig(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	for taken := 0; taken < 2; {
		batch, err := cons.Fetch(2-taken, jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			taken++
			task, err := decodeTask(m.Data())
			if err != nil {
				t.Fatal(err)
			}
			dec, err := decoderOf(task.values.frame)
			if err != nil {
				t.Fatal(err)
			}
			frame, err := frameOf(func(enc *wire.Encoder) error {
				for range task.hi - task.lo {
					v, err := dec.Uint64()
					if err != nil {
						return err
					}
					enc.Uint64(2 * v)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			for run := range 2 {
				data, _ := encodeResult(&result{task: task.id, attempt: 1, host: "fake",
					segments: []segment{{lo: task.lo, hi: task.hi, values: values{frame: frame}}}})
				msg := nats.NewMsg(p.l.resultSubject(task.pool))
				msg.Data = data
				msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("run%d.%d", run, task.id))
				if _, err := js.PublishMsg(ctx, msg); err != nil {
					t.Fatal(err)
				}
			}
			m.Ack()
		}
	}
	select {
	case <-w.done:
	case <-ctx.Done():
		t.Fatal("the results did not come")
	}
	time.Sleep(200 * time.Millisecond) // time for the second results to be (not) delivered
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, n := range w.finished {
		if n != 1 || w.outs[i] != 2*w.ins[i] {
			t.Errorf("item %d: finished %d times with %d", i, n, w.outs[i])
		}
	}

}
