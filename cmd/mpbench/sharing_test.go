//go:build unix

package main

import (
	"os/exec"
	"regexp"
	"testing"
)

func TestSharingPy(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	res := newResults()
	sel := selection{only: regexp.MustCompile("^share_(value_add|event_wake)$")}
	if err := measureSharingPython("python3", "", sel, tinySizes(), true, res); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"share_value_add", "share_event_wake"} {
		positive(t, id+" pool", res.rows[id][implPool], nil)
	}
	if res.rows["share_lock"] != nil {
		t.Error("sharing.py measured a metric -only left out")
	}
}
