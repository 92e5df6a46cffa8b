//go:build !linux

package memlimit

import (
	"context"
	"io"
)

// This file keeps the package's portable surface compiling where there is no mechanism: the
// Limiter cannot be created, so a pool reports that MemoryLimit is unsupported.

// ErrNoCgroup is wrapped by OpenCgroupRoot's error on Linux; elsewhere there are no cgroups.
var ErrNoCgroup = errUnsupported

// A Limiter enforces a memory limit on worker processes; it exists on Linux only.
type Limiter struct{}

// NewLimiter returns an error wrapping errors.ErrUnsupported outside Linux.
func NewLimiter(ctx context.Context, cfg Config) (*Limiter, error) { return nil, errUnsupported }

func (l *Limiter) Mechanism() Mechanism { return MechanismNone }
func (l *Limiter) Limit() int64         { return 0 }
func (l *Limiter) CgroupErr() error     { return errUnsupported }
func (l *Limiter) Close() error         { return nil }
func (l *Limiter) Prepare(env []string) (*Guard, []string, error) {
	return nil, nil, errUnsupported
}

// A Guard follows one worker process; it exists on Linux only.
type Guard struct{ scanner OOMScanner }

func (g *Guard) Started(pid int) error                             { return errUnsupported }
func (g *Guard) CgroupFD() (fd int, ok bool)                       { return 0, false }
func (g *Guard) Stderr() io.Writer                                 { return &g.scanner }
func (g *Guard) Usage() (int64, error)                             { return 0, errUnsupported }
func (g *Guard) Exceeded() bool                                    { return false }
func (g *Guard) Exited(ctx context.Context, d Death) (bool, error) { return d.MemoryLimit(), nil }

// ApplyInWorker returns an error wrapping errors.ErrUnsupported outside Linux.
func ApplyInWorker(limit int64) error { return errUnsupported }
