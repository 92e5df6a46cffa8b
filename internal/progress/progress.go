// Package progress reports the progress of a stream of tasks (Map, Imap, ImapUnordered) on an
// io.Writer.
//
// On anything but a terminal (a file, a pipe, a log collector) it writes a plain line every few
// seconds and a last one when the work is finished:
//
//	12345/100000 tasks (12.3%) 4567/s ETA 20s
//	100000/100000 tasks (100.0%) 4571/s in 21.9s
//
// With an unknown total (total < 0) the lines show the count and the rate only. On a terminal
// it draws, with github.com/vbauerster/mpb, a live bar before the same text, redrawn in place
// and fitted to the terminal's width, with a spinner in place of the bar while the total is
// unknown; Finish leaves the last frame on its own line:
//
//	[==>-------------------------] 12345/100000 tasks (12.3%) 4567/s ETA 20s
//
// # Cost
//
// Add is one atomic add: call it for every finished task from any goroutine. Drawing is paced
// by one goroutine of the Bar's own, at most every 100ms on a terminal and every 5s otherwise
// (on a terminal mpb draws on its goroutines when that one asks, one frame at a time), so the
// Writer is never written from two goroutines at once and never on the caller's hot path.
//
// # Integration
//
// For the Progress(w) MapOption: make the Bar when the map starts, Add(1) for every result
// (failed ones too), SetTotal when an iterator input turns out to have an end, and Finish when
// the map returns or its iterator is stopped, on every path (defer):
//
//	bar := progress.New(cfg.progress, len(inputs)) // -1 for Imap/ImapUnordered
//	defer bar.Finish()
//	... bar.Add(1) per result ...
//
// All methods are nil-safe and New(nil, ...) returns an inert Bar, so the map code needs no
// "if progress requested" branches. Finish waits for the Bar's goroutine: after it nothing is
// written and nothing leaks.
package progress

import (
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// Default drawing intervals.
const (
	DefaultTerminalInterval = 100 * time.Millisecond
	DefaultPlainInterval    = 5 * time.Second
)

// An Option changes how a Bar reports.
type Option interface{ apply(*config) }

type config struct {
	interval time.Duration // 0: the default of the mode
	unit     string
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// Interval sets how often the Bar draws: redraws on a terminal, lines otherwise. Values ≤ 0
// keep the default (DefaultTerminalInterval, DefaultPlainInterval).
func Interval(d time.Duration) Option {
	return optionFunc(func(c *config) {
		if d > 0 {
			c.interval = d
		}
	})
}

// Unit names what is counted ("tasks" by default).
func Unit(name string) Option {
	return optionFunc(func(c *config) {
		if name != "" {
			c.unit = name
		}
	})
}

// A Bar reports progress towards a total on a Writer. Its methods are safe for concurrent use.
type Bar struct {
	done  atomic.Int64
	total atomic.Int64 // < 0: unknown

	start    time.Time
	interval time.Duration
	view     view // what draws: a terminal bar or plain lines

	stop       chan struct{} // closed by Finish
	loopDone   chan struct{} // closed when the loop has returned
	finishOnce sync.Once
}

// view is the part of a Bar that writes. Its methods are called from one goroutine at a time:
// the Bar's loop, then Finish once the loop is gone.
type view interface {
	update(done, total int64, elapsed time.Duration)
	finish(done, total int64, elapsed time.Duration)
}

// New starts reporting on w towards total (< 0 when unknown, as for an iterator input). It
// draws a live bar if w is a terminal, plain lines otherwise, and nothing if w is nil. Call
// Finish when the work is over.
func New(w io.Writer, total int, opts ...Option) *Bar {
	cfg := config{unit: "tasks"}
	for _, o := range opts {
		o.apply(&cfg)
	}
	b := &Bar{start: time.Now()}
	b.total.Store(int64(max(total, -1)))
	if w == nil {
		return b // inert: Finish finds no loop to stop
	}
	b.stop, b.loopDone = make(chan struct{}), make(chan struct{})
	if isTerminal(w) {
		b.interval = or(cfg.interval, DefaultTerminalInterval)
		b.view = newTerminalView(w, b.total.Load(), cfg.unit)
	} else {
		b.interval = or(cfg.interval, DefaultPlainInterval)
		b.view = &plainView{w: w, unit: cfg.unit}
	}
	go b.loop()
	return b
}

func or(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// Add counts n more units done. It is one atomic add.
func (b *Bar) Add(n int) {
	if b != nil {
		b.done.Add(int64(n))
	}
}

// SetTotal changes the total (< 0: unknown), e.g. once an iterator input has ended.
func (b *Bar) SetTotal(total int) {
	if b != nil {
		b.total.Store(int64(max(total, -1)))
	}
}

// Count returns the units done so far.
func (b *Bar) Count() int64 {
	if b == nil {
		return 0
	}
	return b.done.Load()
}

// Finish stops the Bar: it waits for its goroutine, then draws the final state (a full bar or a
// last line) and ends the line. Calls after the first do nothing.
func (b *Bar) Finish() {
	if b == nil || b.stop == nil {
		return
	}
	b.finishOnce.Do(func() {
		close(b.stop)
		<-b.loopDone
		b.view.finish(b.done.Load(), b.total.Load(), time.Since(b.start))
	})
}

func (b *Bar) loop() {
	defer close(b.loopDone)
	t := time.NewTicker(b.interval)
	defer t.Stop()
	for {
		select {
		case <-b.stop:
			return
		case <-t.C:
			b.view.update(b.done.Load(), b.total.Load(), time.Since(b.start))
		}
	}
}
