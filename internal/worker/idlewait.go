package worker

import (
	"time"

	"github.com/multiproc/multiproc/internal/spin"
)

// spinWindow is how long an idle worker keeps polling its ring before it sleeps. A sleeping
// thread takes tens of microseconds to wake on a VM, more than a whole round trip otherwise
// costs: a caller that sends its next task soon after the last result (sequential Apply) finds
// the worker awake. It costs an idle worker at most this much CPU after each burst of work.
const spinWindow = 100 * time.Microsecond

// idleWaiter decides how the reader waits for input. When there is none, it first lets the
// server write the results it kept back (so results wait only while more input is already at
// hand), then polls while the worker has just become idle, and otherwise sleeps.
type idleWaiter struct {
	s      *server
	policy spin.Policy
}

func (w *idleWaiter) Poll() time.Duration {
	idle := w.s.idle()
	// The reader has nothing to read: a good time to put up buffers for large inputs.
	w.s.inbox.refill()
	if idle && w.policy.Allow() {
		return spinWindow
	}
	return 0
}

func (w *idleWaiter) Polled(hit bool) {
	if hit {
		w.policy.Hit()
	} else {
		w.policy.Miss()
	}
}
