package engine

import (
	"fmt"
	"time"

	"github.com/multiproc/multiproc/internal/backend"
)

// The initializer (multiproc.Initializer), run on each new worker before its first batch.

// initialize runs the initializer on a new worker before it takes any task.
func (w *proc) initialize() error {
	e := w.e
	init := &initWork{Work: e.cfg.Init()}
	j := &Job{e: e, work: init, internal: true}
	b := &batch{job: j, lo: 0, hi: 1, next: 0, attempt: 1}
	e.mu.Lock()
	e.nextID++
	b.id = e.nextID
	w.inflight = []*batch{b}
	w.sending = true // nobody pumps work to w until it is initialized
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		w.inflight, w.sending = nil, false
		e.mu.Unlock()
	}()
	w.send([]*batch{b})
	late := w.killAfter(initTimeout)
	defer late()
	for !init.finished {
		f, err := w.r.Read()
		if err != nil {
			if late() {
				return fmt.Errorf("initializer did not finish within %v", initTimeout)
			}
			return fmt.Errorf("worker ended while it ran the initializer: %w", err)
		}
		w.dec.Next(f)
		if err := w.handle(f, w.dec); err != nil {
			return err
		}
	}
	if init.err != nil {
		return &backend.InitError{Err: init.err}
	}
	return nil
}

// initTimeout bounds an initializer.
const initTimeout = 5 * time.Minute

// initWork notes when the initializer has finished.
type initWork struct {
	backend.Work
	finished bool
	err      error
}

func (w *initWork) Finish(lo, hi int, err error) {
	w.finished, w.err = true, err
	w.Work.Finish(lo, hi, err)
}
