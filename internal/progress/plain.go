package progress

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// plainView writes one line of text per update: for logs, files and pipes, where a redrawn bar
// would be a mess of carriage returns.
type plainView struct {
	w    io.Writer
	unit string
	buf  []byte // reused for every line
}

func (v *plainView) update(done, total int64, elapsed time.Duration) {
	v.write(done, total, elapsed, false)
}

func (v *plainView) finish(done, total int64, elapsed time.Duration) {
	v.write(done, total, elapsed, true)
}

func (v *plainView) write(done, total int64, elapsed time.Duration, final bool) {
	v.buf = appendLine(v.buf[:0], v.unit, done, total, elapsed, final)
	v.w.Write(v.buf) // a report that cannot be written must not fail the work
}

// appendLine formats a line of appendStatus, ended by a newline.
func appendLine(b []byte, unit string, done, total int64, elapsed time.Duration, final bool) []byte {
	return append(appendStatus(b, unit, done, total, elapsed, final), '\n')
}

// appendStatus formats "12345/100000 tasks (12.3%) 4567/s ETA 20s", with "in 21.9s" in place
// of the ETA once final, and without the total, the percentage and the ETA when the total is
// unknown. The plain lines and the terminal bar both say it.
func appendStatus(b []byte, unit string, done, total int64, elapsed time.Duration, final bool) []byte {
	b = strconv.AppendInt(b, done, 10)
	if total >= 0 {
		b = append(b, '/')
		b = strconv.AppendInt(b, total, 10)
	}
	b = append(b, ' ')
	b = append(b, unit...)
	if total > 0 {
		b = fmt.Appendf(b, " (%.1f%%)", 100*float64(done)/float64(total))
	}
	rate := 0.0
	if s := elapsed.Seconds(); s > 0 {
		rate = float64(done) / s
	}
	b = append(b, ' ')
	b = appendRate(b, rate)
	b = append(b, "/s"...)
	switch {
	case final:
		b = append(b, " in "...)
		b = appendDuration(b, elapsed, true)
	case total >= 0 && done < total && rate > 0:
		b = append(b, " ETA "...)
		b = appendDuration(b, time.Duration(float64(total-done)/rate*float64(time.Second)), false)
	case total >= 0 && done < total:
		b = append(b, " ETA ?"...)
	case total >= 0:
		b = append(b, " ETA 0s"...) // all done, the final line not written yet
	}
	return b
}

// appendRate writes a rate with a precision that suits its size: "4567", "12.5", "0.25".
func appendRate(b []byte, r float64) []byte {
	switch {
	case r >= 100:
		return strconv.AppendFloat(b, math.Round(r), 'f', 0, 64)
	case r >= 1:
		return strconv.AppendFloat(b, r, 'f', 1, 64)
	default:
		return strconv.AppendFloat(b, r, 'f', 2, 64)
	}
}

// appendDuration writes a duration the way a person reads one: "20s", "3m05s", "2h07m";
// precise adds tenths under a minute ("21.9s"), for the time the work took.
func appendDuration(b []byte, d time.Duration, precise bool) []byte {
	switch {
	case d < time.Minute && precise:
		return fmt.Appendf(b, "%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Appendf(b, "%ds", int(math.Ceil(d.Seconds())))
	case d < time.Hour:
		s := int(d.Round(time.Second).Seconds())
		return fmt.Appendf(b, "%dm%02ds", s/60, s%60)
	default:
		m := int(d.Round(time.Minute).Minutes())
		return fmt.Appendf(b, "%dh%02dm", m/60, m%60)
	}
}
