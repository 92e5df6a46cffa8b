package engine

import "time"

// TaskTimeout: the watch that kills a worker whose task has run past it.

// watchTimeouts kills workers whose item has run past the timeout and the grace period: the
// task's context expired at the timeout, and it did not return. An item is timed from when
// this watch first sees it on the worker's status page, at most a tick after it started.
func (e *Engine) watchTimeouts() {
	defer e.wg.Done()
	tick := min(max((e.cfg.Timeout+e.cfg.Grace)/8, 2*time.Millisecond), 100*time.Millisecond)
	t := time.NewTicker(tick)
	defer t.Stop()
	limit := e.cfg.Timeout + e.cfg.Grace
	type sighting struct {
		batch uint64
		item  int
		since time.Time
	}
	seen := make(map[*proc]sighting)
	for {
		select {
		case <-e.stopTick:
			return
		case now := <-t.C:
			e.mu.Lock()
			ws := append([]*proc(nil), e.workers...)
			e.mu.Unlock()
			next := make(map[*proc]sighting, len(ws))
			for _, w := range ws {
				batch, item, running := w.child.Running()
				if !running {
					continue
				}
				s, ok := seen[w]
				if !ok || s.batch != batch || s.item != item {
					s = sighting{batch, item, now}
				}
				next[w] = s
				if now.Sub(s.since) > limit {
					w.kill(causeTimeout)
				}
			}
			seen = next
		}
	}
}
