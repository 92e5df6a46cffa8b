package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/hostwork"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// Serve makes this process a worker host: it starts worker processes here (Workers; default
// runtime.NumCPU() of them) and runs the cluster's tasks on them, with the same isolation as
// a local pool, until ctx ends; then it finishes or hands back what it holds and returns nil.
//
// A host takes a task only when one of its workers is free, and only for a function its
// binary registered; a task for another function goes back to the stream for another host.
// While a task runs the host tells the server so every third of LostAfter; a host that
// vanishes has its tasks given to others LostAfter after its last word. When ctx ends, the
// tasks running finish for up to handBackAfter; those still running then are handed back
// (sent again as they came) and stopped.
func Serve(ctx context.Context, url string, opts ...Option) error {
	c, err := newConfig(url, opts)
	if err != nil {
		return err
	}
	nc, js, err := connect(ctx, c, "host")
	if err != nil {
		return err
	}
	defer nc.Close()
	l := layout{c.name}
	cons, err := js.CreateOrUpdateConsumer(ctx, l.tasksStream(), hostsConsumerConfig(c.lostAfter))
	if err != nil {
		return fmt.Errorf("cluster: %s: the hosts' consumer: %w", c.url, err)
	}
	local, err := multiproc.NewPool(c.workers...)
	if err != nil {
		return err
	}
	be, _ := backend.OfPool(local)
	h := &host{c: c, l: l, id: hostID(), nc: nc, js: js, cons: cons, store: newStore(nc, js, l, c.storage),
		local: local, be: be, slots: local.Size(), freed: make(chan struct{}, 1),
		runs: make(map[*run]bool), cancelled: make(map[jobKey]time.Time)}
	defer local.Terminate()
	sub, err := nc.Subscribe(l.cancelSubject(), h.onCancel)
	if err != nil {
		return fmt.Errorf("cluster: %s: %w", c.url, err)
	}
	defer sub.Unsubscribe()
	stopBeats := h.beat()
	h.pull(ctx)
	stopBeats()
	h.stop()
	return nil
}

// hostID names a host in beats and results: the machine and the process.
func hostID() string {
	name, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", name, os.Getpid(), nuid.Next()[:6])
}

// handBackAfter is how long a stopping host lets its running tasks finish before it hands
// them back.
const handBackAfter = 2 * time.Second

// bounceAfter is how long a host holds a task for a function it does not have before it puts
// it back: with no host that has the function, the task goes round at this pace.
const bounceAfter = time.Second

// cancelMemory is how long a host remembers a cancelled call, to drop its tasks still queued.
const cancelMemory = 10 * time.Minute

type host struct {
	c     *config
	l     layout
	id    string
	nc    *nats.Conn
	js    jetstream.JetStream
	cons  jetstream.Consumer
	store *store
	local *multiproc.Pool
	be    backend.Backend
	slots int           // tasks held at once: one per worker
	freed chan struct{} // a slot was freed

	mu        sync.Mutex // protects the fields below
	runs      map[*run]bool
	cancelled map[jobKey]time.Time // calls cancelled, and when
	wg        sync.WaitGroup       // one per run and per task bounced
}

type jobKey struct {
	pool string
	job  uint64
}

// pull takes tasks while slots are free, until ctx ends.
func (h *host) pull(ctx context.Context) {
	for ctx.Err() == nil {
		h.mu.Lock()
		free := h.slots - len(h.runs)
		h.mu.Unlock()
		if free <= 0 {
			select {
			case <-h.freed:
			case <-ctx.Done():
			}
			continue
		}
		batch, err := h.cons.Fetch(free, jetstream.FetchMaxWait(time.Second))
		if err != nil {
			sleep(ctx, 100*time.Millisecond) // the server is away
			continue
		}
		for m := range batch.Messages() {
			h.take(ctx, m)
		}
		if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) {
			sleep(ctx, 100*time.Millisecond)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}

// take starts the task m holds, or drops, bounces or hands it back.
func (h *host) take(ctx context.Context, m jetstream.Msg) {
	t, err := decodeTask(m.Data())
	if err != nil {
		h.log("a malformed task", "err", err)
		m.Term()
		return
	}
	if ctx.Err() != nil {
		h.handBack(m)
		return
	}
	h.mu.Lock()
	_, cancelled := h.cancelled[jobKey{t.pool, t.job}]
	h.mu.Unlock()
	if cancelled {
		m.Ack()
		return
	}
	if !hostwork.Has(t.fn) {
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			sleep(ctx, bounceAfter)
			h.handBack(m)
		}()
		return
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r := &run{h: h, m: m, t: t, cancel: cancel, done: make(chan struct{}), left: t.hi - t.lo}
	h.mu.Lock()
	h.runs[r] = true
	h.mu.Unlock()
	h.wg.Add(1)
	go r.run(runCtx)
}

// handBack puts m's task back in the stream as it came, for another host, and acks m. The
// copy is a new message: its delivery count does not say a host was lost.
func (h *host) handBack(m jetstream.Msg) {
	copy := nats.NewMsg(h.l.taskSubject())
	copy.Data = m.Data()
	id, _, _ := strings.Cut(m.Headers().Get(jetstream.MsgIDHeader), "/") // the pool's id for it
	copy.Header.Set(jetstream.MsgIDHeader, id+"/"+nuid.Next())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := retry(ctx, func(ctx context.Context) error {
		_, err := h.js.PublishMsg(ctx, copy)
		return err
	}); err != nil {
		m.Nak() // the server is away: it gives the task to another host later
		return
	}
	m.Ack()
}

// onCancel stops the runs of a cancelled call, and remembers it to drop its tasks to come.
func (h *host) onCancel(m *nats.Msg) {
	var note cancelNote
	if json.Unmarshal(m.Data, &note) != nil {
		return
	}
	key := jobKey{note.Pool, note.Job}
	now := time.Now()
	h.mu.Lock()
	for k, at := range h.cancelled {
		if now.Sub(at) > cancelMemory {
			delete(h.cancelled, k)
		}
	}
	h.cancelled[key] = now
	var mine []*run
	for r := range h.runs {
		if r.t.pool == note.Pool && r.t.job == note.Job {
			mine = append(mine, r)
		}
	}
	h.mu.Unlock()
	for _, r := range mine {
		r.mu.Lock()
		if !r.ended { // the pool has finished its items already
			r.ended, r.dropped = true, true
		}
		r.mu.Unlock()
		r.cancel()
	}
}

// beat says every beatEvery that the host is there, until stop is called, which says that it
// is leaving.
func (h *host) beat() (stop func()) {
	say := func(leaving bool) {
		h.mu.Lock()
		busy := len(h.runs)
		h.mu.Unlock()
		b, _ := json.Marshal(beat{Host: h.id, Workers: h.local.Stats().Workers, Busy: min(busy, h.slots), Leaving: leaving})
		h.nc.Publish(h.l.hostSubject(), b)
	}
	say(false)
	tick := time.NewTicker(beatEvery)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				say(false)
			case <-quit:
				say(true)
				return
			}
		}
	}()
	return func() { close(quit); <-done }
}

// stop lets the runs finish for up to handBackAfter, then hands back those still running and
// stops them, and waits for every goroutine of the host.
func (h *host) stop() {
	deadline := time.After(handBackAfter)
	for {
		h.mu.Lock()
		n := len(h.runs)
		h.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-h.freed:
			continue
		case <-deadline:
		}
		break
	}
	h.mu.Lock()
	var left []*run
	for r := range h.runs {
		left = append(left, r)
	}
	h.mu.Unlock()
	for _, r := range left {
		r.mu.Lock()
		handBack := !r.ended
		r.ended = true
		r.mu.Unlock()
		if handBack {
			h.handBack(r.m)
		}
		r.cancel()
	}
	h.wg.Wait()
	h.nc.Flush()
}

func (h *host) log(msg string, args ...any) {
	fmt.Fprintln(os.Stderr, append([]any{"multiproc: cluster host:", msg}, args...)...)
}
