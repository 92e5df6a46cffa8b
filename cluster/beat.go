package cluster

import (
	"encoding/json"
	"time"

	"github.com/multiproc/multiproc/internal/backend"
	"github.com/nats-io/nats.go"
)

// beat is what a host says on the host subject every beatEvery: that it is there, how many
// worker processes it has and how many hold tasks.
type beat struct {
	Host    string `json:"h"`
	Workers int    `json:"w"`
	Busy    int    `json:"b"`
	Leaving bool   `json:"l,omitempty"` // the host is stopping: count it no more

	at time.Time // when it came
}

const (
	beatEvery = time.Second
	// beatLost is how long after its last beat a host no longer counts in Stats.
	beatLost = 3 * beatEvery
)

func (p *pool) onBeat(m *nats.Msg) {
	var b beat
	if json.Unmarshal(m.Data, &b) != nil || b.Host == "" {
		return
	}
	b.at = time.Now()
	p.mu.Lock()
	if b.Leaving {
		delete(p.hosts, b.Host)
	} else {
		p.hosts[b.Host] = b
	}
	p.mu.Unlock()
}

// workers returns the worker processes and the busy ones of the hosts heard from lately.
func (p *pool) workers() (workers, busy int) {
	now := time.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, b := range p.hosts {
		if now.Sub(b.at) > beatLost {
			delete(p.hosts, id)
			continue
		}
		workers += b.Workers
		busy += b.Busy
	}
	return workers, busy
}

// Stats counts the workers of the hosts heard from in the last few seconds.
func (p *pool) Stats() backend.Stats {
	workers, busy := p.workers()
	p.mu.Lock()
	left := p.left
	p.mu.Unlock()
	return backend.Stats{Workers: workers, Busy: busy, Submitted: p.submitted.Load(),
		Complete: p.complete.Load(), Failed: p.failed.Load(), Queued: max(0, left-busy)}
}

// Live is the number of the hosts' worker processes.
func (p *pool) Live() int {
	w, _ := p.workers()
	return w
}

// Idle says whether fewer items wait than there are workers: a stream then sends each
// input at once.
func (p *pool) Idle() bool {
	w, _ := p.workers()
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.left < w
}
