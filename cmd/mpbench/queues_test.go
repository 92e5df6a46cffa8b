//go:build unix

package main

import (
	"os/exec"
	"regexp"
	"testing"
)

// TestQueuesPy runs bench/python/queues.py: it measures every Queue and Pipe row, under the
// names the table has.
func TestQueuesPy(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	res := newResults()
	measureQueuesPython("python3", "", selection{only: regexp.MustCompile("^(queue|pipe)_")}, tinySizes(), true, res)
	for _, m := range queueRows {
		positive(t, m.id+" pool", res.rows[m.id][implPool], nil)
	}
	if res.rows["apply"] != nil {
		t.Error("queues.py measured a metric of pools.py")
	}
}
