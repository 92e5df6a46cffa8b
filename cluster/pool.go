package cluster

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/wire"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"
)

// At makes multiproc.NewPool run its tasks on the worker hosts of a cluster, through the NATS
// server at url (JetStream enabled), instead of on processes of this machine:
//
//	pool, err := multiproc.NewPool(cluster.At("nats://10.0.0.5:4222"))
//
// Map, Imap, ImapUnordered, Apply and Submit are unchanged. multiproc.Processes has no meaning
// for such a pool (ErrInvalidOption); TaskTimeout and Retries travel with the tasks (how long a
// task asked to stop has before its worker is killed is the host's GracePeriod). NewPool
// connects to the server and returns an error naming url if it cannot. With no host
// connected, calls wait, bounded by their ctx; so does Close, which waits for the tasks
// submitted (Terminate does not).
func At(url string, opts ...Option) multiproc.Option {
	c, err := newConfig(url, opts)
	if err == nil && len(c.workers) > 0 {
		err = invalid("Workers has no meaning for At: a pool's tasks run on the hosts' workers")
	}
	return backend.NewOption(func(bc backend.Config) (backend.Backend, error) {
		if err != nil {
			return nil, err
		}
		return dial(c, bc)
	}).(multiproc.Option)
}

// pool is the backend of a pool whose tasks run on a cluster's hosts. Each Submit is one
// task message; each task's outcome comes back as one result message on the pool's own
// subject, which the pool's consumer reads.
//
// Invariants: an item submitted is finished (Work.Finish) exactly once: by the first result
// of the task holding it, by its job's cancellation, or by the pool's termination, whichever
// removes the task from tasks first. A task is in tasks from its Submit until then.
type pool struct {
	c     *config
	bc    backend.Config
	l     layout
	id    string
	nc    *nats.Conn
	js    jetstream.JetStream
	store *store
	cc    jetstream.ConsumeContext
	beats *nats.Subscription

	mu       sync.Mutex // protects the fields below
	tasks    map[uint64]*pendingTask
	nextTask uint64
	nextJob  uint64
	closing  bool
	left     int           // items submitted and not finished
	drained  chan struct{} // closed when closing and left is 0
	hosts    map[string]beat
	closed   chan struct{} // closed when Close has stopped everything

	submitted, complete, failed atomic.Int64
}

// pendingTask is a task sent and not yet resolved.
type pendingTask struct {
	job     *job
	lo, hi  int
	attempt int
	inputs  values // dropped once the task is resolved
	cancel  context.CancelFunc
}

func dial(c *config, bc backend.Config) (*pool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	nc, js, err := connect(ctx, c, "pool")
	if err != nil {
		return nil, err
	}
	p := &pool{c: c, bc: bc, l: layout{c.name}, id: nuid.Next(), nc: nc, js: js,
		tasks: make(map[uint64]*pendingTask), drained: make(chan struct{}), hosts: make(map[string]beat),
		closed: make(chan struct{})}
	p.store = newStore(nc, js, p.l, c.storage)
	if p.beats, err = nc.Subscribe(p.l.hostSubject(), p.onBeat); err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: %s: %w", c.url, err)
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, p.l.resultsStream(), resultsConsumerConfig(p.l, p.id))
	if err == nil {
		p.cc, err = cons.Consume(p.onResult, jetstream.PullMaxMessages(512))
	}
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("cluster: %s: results: %w", c.url, err)
	}
	return p, nil
}

// job is one call's items.
type job struct {
	p    *pool
	id   uint64
	w    backend.Work
	stop func() bool // stops the watch of the call's ctx

	err error // why it was cancelled; guarded by p.mu
}

func (p *pool) NewJob(ctx context.Context, w backend.Work) (backend.Job, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closing {
		return nil, backend.ErrClosed
	}
	p.nextJob++
	j := &job{p: p, id: p.nextJob, w: w}
	if ctx.Done() != nil {
		j.stop = context.AfterFunc(ctx, func() { j.Cancel(ctx.Err()) })
	}
	return j, nil
}

func (j *job) Expect()                    {}
func (j *job) Await(_, _ <-chan struct{}) {}

func (j *job) Release() {
	if j.stop != nil {
		j.stop()
	}
}

// Submit sends items lo..hi-1 as one task. Their inputs are encoded now, in the caller's
// goroutine, as a local pool does; the message goes out in the background, again and again
// while the server is away, until the task is resolved.
func (j *job) Submit(lo, hi int) { j.p.submit(j, lo, hi, 1) }

func (p *pool) submit(j *job, lo, hi, attempt int) {
	if attempt == 1 {
		p.submitted.Add(int64(hi - lo))
	}
	frame, err := frameOf(func(enc *wire.Encoder) error { return j.w.EncodeInputs(enc, lo, hi) })
	p.mu.Lock()
	if err == nil {
		err = j.err
	}
	if err == nil && attempt == 1 {
		select {
		case <-p.drained: // closed, and nothing left to wait for
			err = backend.ErrClosed
		default:
		}
	}
	if err != nil {
		p.mu.Unlock()
		p.finish(j, lo, hi, err, attempt > 1) // a retry's items are counted in left already
		return
	}
	p.nextTask++
	id := p.nextTask
	ctx, cancel := context.WithCancel(context.Background())
	pt := &pendingTask{job: j, lo: lo, hi: hi, attempt: attempt, cancel: cancel}
	p.tasks[id] = pt
	if attempt == 1 {
		p.left += hi - lo
	}
	p.mu.Unlock()
	t := &task{pool: p.id, id: id, job: j.id, lo: lo, hi: hi, attempt: attempt, retries: p.bc.Retries,
		timeout: p.bc.TaskTimeout, fn: j.w.Func()}
	if len(frame) > p.store.inline {
		go p.send(ctx, pt, t, frame)
		return
	}
	// The common case goes out from the caller's goroutine, without a hand-off to another;
	// only the wait for the server's acknowledgement is left to one.
	t.values = values{frame: frame}
	msg := p.taskMsg(t)
	ack, err := p.js.PublishMsgAsync(msg)
	go func() {
		if err == nil {
			select {
			case <-ack.Ok():
				return
			case <-ack.Err():
			case <-ctx.Done():
				return
			}
		}
		p.publish(ctx, msg)
	}()
}

func (p *pool) taskMsg(t *task) *nats.Msg {
	msg := nats.NewMsg(p.l.taskSubject())
	msg.Data = encodeTask(t)
	msg.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s.%d", p.id, t.id))
	return msg
}

// publish publishes msg until it succeeds or ctx ends.
func (p *pool) publish(ctx context.Context, msg *nats.Msg) {
	retry(ctx, func(ctx context.Context) error {
		_, err := p.js.PublishMsg(ctx, msg)
		return err
	})
}

// send stores large inputs and publishes their task, until it succeeds or the task is resolved
// (ctx). The message's id makes the server drop a second copy of it.
func (p *pool) send(ctx context.Context, pt *pendingTask, t *task, frame []byte) {
	err := retry(ctx, func(callCtx context.Context) error {
		v, err := p.store.put(callCtx, frame)
		if err != nil {
			return err
		}
		p.mu.Lock()
		pt.inputs = v
		p.mu.Unlock()
		if ctx.Err() != nil { // resolved meanwhile (cancelled), maybe before it saw v
			p.store.drop(context.Background(), v)
		}
		return nil
	})
	if err != nil {
		return
	}
	p.mu.Lock()
	t.values = pt.inputs
	p.mu.Unlock()
	p.publish(ctx, p.taskMsg(t))
}

// take removes task id from the pending ones and returns it, or nil if it was resolved.
func (p *pool) take(id uint64) *pendingTask {
	p.mu.Lock()
	defer p.mu.Unlock()
	pt := p.tasks[id]
	delete(p.tasks, id)
	return pt
}

// resolved ends a task's sending and drops its inputs.
func (p *pool) resolved(pt *pendingTask) {
	pt.cancel()
	p.mu.Lock()
	inputs := pt.inputs
	p.mu.Unlock()
	if inputs.id != "" {
		go p.store.drop(context.Background(), inputs)
	}
}

// onResult takes a task's result: the first one resolves the task, others are dropped.
func (p *pool) onResult(m jetstream.Msg) {
	defer m.Ack()
	res, err := decodeResult(m.Data())
	if err != nil {
		p.log("a malformed result", "err", err)
		return
	}
	pt := p.take(res.task)
	if pt == nil {
		for _, sg := range res.segments {
			p.store.drop(context.Background(), sg.values)
		}
		return
	}
	p.resolved(pt)
	j := pt.job
	covered := pt.lo
	for _, sg := range res.segments {
		if sg.lo != covered || sg.hi > pt.hi {
			p.log("a result whose segments do not cover its task", "task", res.task)
			break
		}
		covered = sg.hi
		p.segment(j, res.attempt, sg)
	}
	if covered < pt.hi {
		p.finish(j, covered, pt.hi, &backend.RemoteError{Err: wire.Error{Type: "*errors.errorString",
			Message: "cluster: a host's result did not cover its task"}}, true)
	}
}

// segment finishes a result's segment, or sends again an item whose worker died while
// Retries allow.
func (p *pool) segment(j *job, attempt int, sg segment) {
	if f := sg.failed; f != nil {
		if f.Kind == "died" && !f.Final && attempt <= p.bc.Retries {
			p.submit(j, sg.lo, sg.hi, attempt+1)
			return
		}
		p.finish(j, sg.lo, sg.hi, f.err(), true)
		return
	}
	var frame []byte
	ctx, cancel := context.WithTimeout(context.Background(), valuesWait)
	err := retry(ctx, func(ctx context.Context) (err error) { // the server may be restarting
		frame, err = p.store.get(ctx, sg.values)
		return err
	})
	cancel()
	p.store.drop(context.Background(), sg.values)
	if err == nil {
		var dec *wire.Decoder
		if dec, err = decoderOf(frame); err == nil {
			p.mu.Lock()
			err = j.err
			p.mu.Unlock()
			if err == nil {
				err = j.w.DecodeOutputs(dec, sg.lo, sg.hi)
			}
		}
	}
	p.finish(j, sg.lo, sg.hi, err, true)
}

// finish reports items lo..hi-1 to the call and counts them.
func (p *pool) finish(j *job, lo, hi int, err error, counted bool) {
	if err != nil {
		p.failed.Add(int64(hi - lo))
	} else {
		p.complete.Add(int64(hi - lo))
	}
	j.w.Finish(lo, hi, err)
	if !counted {
		return
	}
	p.mu.Lock()
	p.left -= hi - lo
	if p.closing && p.left == 0 {
		closeOnce(p.drained)
	}
	p.mu.Unlock()
}

func closeOnce(c chan struct{}) {
	select {
	case <-c:
	default:
		close(c)
	}
}

// Cancel fails the job's unresolved items with err and tells the hosts to stop them.
func (j *job) Cancel(err error) {
	p := j.p
	p.mu.Lock()
	if j.err != nil {
		p.mu.Unlock()
		return
	}
	j.err = err
	var mine []*pendingTask
	for id, pt := range p.tasks {
		if pt.job == j {
			mine = append(mine, pt)
			delete(p.tasks, id)
		}
	}
	p.mu.Unlock()
	if len(mine) == 0 {
		return
	}
	p.publishCancel(j.id)
	for _, pt := range mine {
		p.resolved(pt)
		p.finish(j, pt.lo, pt.hi, err, true)
	}
}

// cancelNote is what a pool says on the cancel subject.
type cancelNote struct {
	Pool string `json:"p"`
	Job  uint64 `json:"j"`
}

func (p *pool) publishCancel(jobID uint64) {
	b, _ := json.Marshal(cancelNote{Pool: p.id, Job: jobID})
	p.nc.Publish(p.l.cancelSubject(), b)
}

// Close stops taking jobs, waits for (or, with terminate, fails and cancels) the items not
// finished, then stops reading results and removes the pool's consumer.
func (p *pool) Close(terminate bool) error {
	p.mu.Lock()
	if p.closing {
		p.mu.Unlock()
		<-p.closed
		return nil
	}
	p.closing = true
	if p.left == 0 {
		closeOnce(p.drained)
	}
	p.mu.Unlock()
	if terminate {
		p.terminate()
	}
	<-p.drained
	p.cc.Stop()
	p.beats.Unsubscribe()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	p.js.DeleteConsumer(ctx, p.l.resultsStream(), resultsConsumerConfig(p.l, p.id).Durable)
	// Results acked as the pool stopped, or that came after (a task run twice): nobody will
	// read them.
	if st, err := p.js.Stream(ctx, p.l.resultsStream()); err == nil {
		st.Purge(ctx, jetstream.WithPurgeSubject(p.l.resultSubject(p.id)))
	}
	cancel()
	p.nc.Close()
	close(p.closed)
	return nil
}

// terminate fails every unresolved item with ErrClosed.
func (p *pool) terminate() {
	p.mu.Lock()
	jobs := map[*job]bool{}
	for _, pt := range p.tasks {
		jobs[pt.job] = true
	}
	p.mu.Unlock()
	for j := range jobs {
		j.Cancel(backend.ErrClosed)
	}
}

func (p *pool) log(msg string, args ...any) {
	if p.bc.Logger != nil {
		p.bc.Logger.Warn("cluster: "+msg, args...)
	}
}
