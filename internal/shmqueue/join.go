package shmqueue

import "context"

// unfinished is how many items were put and not yet marked done.
func (q *Queue) unfinished() uint64 {
	return (countOf(q.h.head.Load()) - uint64(q.h.done.Load())) & countMask
}

// TaskDone marks one item put as done. It fails with ErrTaskDone when every item put is
// done already.
func (q *Queue) TaskDone() error {
	for {
		d := q.h.done.Load()
		if (countOf(q.h.head.Load())-uint64(d))&countMask == 0 {
			return ErrTaskDone
		}
		if q.h.done.CompareAndSwap(d, uint32((uint64(d)+1)&countMask)) {
			wake(&q.h.join)
			return nil
		}
	}
}

// Join waits until every item put is done.
func (q *Queue) Join(ctx context.Context) error {
	return q.joinWaiter.wait(ctx, &q.h.join, func() bool { return q.unfinished() == 0 }, sleepMax, nil)
}
