//go:build unix

package main

import (
	"encoding/binary"
	"errors"
	"io"
	"time"
)

// measureCPUPair is the machine's own speedup for the CPU-bound metric: the same busy
// tasks run serially in this process, and then split between two re-executed children
// started beforehand that talk to nobody while they work. On a VM whose two vCPUs share
// a physical core, or whose host is busy, this is below the number of cores, and no
// library can do better.
func measureCPUPair(reps int, sz sizes) (*Summary, error) {
	iters := calibrateBurn(sz.cpuTask)
	var kids [2]*limitChild
	for i := range kids {
		c, err := startLimitChild("burn")
		if err != nil {
			return nil, err
		}
		defer c.close()
		kids[i] = c
	}
	half := sz.cpuTasks / 2
	parallel := func() (time.Duration, error) {
		var msg [12]byte
		binary.LittleEndian.PutUint64(msg[:8], uint64(iters))
		binary.LittleEndian.PutUint32(msg[8:], uint32(half))
		t0 := time.Now()
		for _, c := range kids {
			if err := writeFull(c.fd, msg[:]); err != nil {
				return 0, err
			}
		}
		for _, c := range kids {
			if err := readFull(c.fd, msg[:1]); err != nil {
				return 0, err
			}
		}
		return time.Since(t0), nil
	}
	if _, err := parallel(); err != nil { // warm-up: the children's first run
		return nil, err
	}
	var samples []float64
	for range reps {
		t0 := time.Now()
		for range 2 * half {
			sinkU64 += burn(iters)
		}
		serial := time.Since(t0)
		d, err := parallel()
		if err != nil {
			return nil, err
		}
		samples = append(samples, serial.Seconds()/d.Seconds())
	}
	s := summarize(samples)
	s.Tasks = 2 * half
	return s, nil
}

// burnChild runs the busy tasks the parent asks for: 8 bytes of iterations and 4 of a
// count, answered with one byte when done, until the parent hangs up.
func burnChild(fd int) error {
	var msg [12]byte
	for {
		if err := readFull(fd, msg[:]); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		iters := int64(binary.LittleEndian.Uint64(msg[:8]))
		for range binary.LittleEndian.Uint32(msg[8:]) {
			sinkU64 += burn(iters)
		}
		if err := writeFull(fd, msg[:1]); err != nil {
			return err
		}
	}
}
