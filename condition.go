package multiproc

import (
	"context"
	"errors"
	"fmt"
	"runtime"

	"github.com/multiproc/multiproc/internal/handle"
	"github.com/multiproc/multiproc/internal/shmsync"
)

// Condition is a condition variable on a Lock (multiprocessing.Condition; Go's names). Wait
// must be called holding the Lock; Signal and Broadcast may be called with or without it.
// Neither is remembered: they wake only the goroutines (of any process) waiting at that moment.
// At most 200 goroutines may wait on one Condition at once.
//
// A Condition travels to another process as a task's argument or result (or inside one),
// taking its Lock along. Its methods are safe for concurrent use.
type Condition struct {
	obj *handle.Object
	c   *shmsync.Condition
	l   *Lock
}

// NewCondition returns a Condition on l.
func NewCondition(l *Lock) (*Condition, error) {
	if l == nil || l.obj == nil {
		return nil, invalid("NewCondition: the Lock must be made with NewLock")
	}
	obj, err := newObject(kindCondition, sizeOf[shmsync.Condition]())
	if err != nil {
		return nil, err
	}
	c := &Condition{l: l}
	c.init(obj)
	return c, nil
}

func (c *Condition) init(obj *handle.Object) {
	c.obj, c.c = obj, at[shmsync.Condition](obj.Mem, 0)
	releaseWhenUnreachable(c, obj)
}

// Wait unlocks the Lock, waits for Signal or Broadcast, and locks it again: it holds the lock
// whenever it returns, whatever it returns. If ctx ends first, it returns ctx.Err(); if the
// Lock's holder died meanwhile, ErrOwnerDied. Calling it without holding the Lock is an error.
func (c *Condition) Wait(ctx context.Context) error {
	defer runtime.KeepAlive(c) // the memory (and its Lock's) stays mapped while it is used
	died, err := c.c.Wait(ctx, c.l.m)
	if errors.Is(err, shmsync.ErrNotLocked) || errors.Is(err, shmsync.ErrManyWaiters) {
		return fmt.Errorf("multiproc: Condition.Wait: %w", err)
	}
	if err != nil {
		return err
	}
	if died {
		return fmt.Errorf("%w (process that held the Condition's Lock ended)", ErrOwnerDied)
	}
	return nil
}

// Signal wakes one goroutine waiting on c (the longest waiting), if there is one.
func (c *Condition) Signal() { c.c.Signal(); runtime.KeepAlive(c) }

// Broadcast wakes every goroutine waiting on c.
func (c *Condition) Broadcast() { c.c.Broadcast(); runtime.KeepAlive(c) }

func (c *Condition) sharedObject() *handle.Object { return c.obj }

// GobEncode lets the condition travel, with its Lock, as a task's argument or result.
func (c *Condition) GobEncode() ([]byte, error) {
	b, err := encodeHandle(c.obj, "Condition")
	if err != nil {
		return nil, err
	}
	lb, err := c.l.GobEncode()
	if err != nil {
		return nil, err
	}
	return append(b, lb...), nil
}

// GobDecode opens a condition that travelled, and its Lock.
func (c *Condition) GobDecode(b []byte) error {
	if len(b)%2 != 0 {
		return fmt.Errorf("multiproc: decoding a Condition: %d bytes", len(b))
	}
	half := len(b) / 2
	l := &Lock{}
	if err := l.GobDecode(b[half:]); err != nil {
		return err
	}
	obj, err := handle.Open(b[:half], kindCondition, "Condition")
	if err != nil {
		return err
	}
	c.l = l
	c.init(obj)
	return nil
}
