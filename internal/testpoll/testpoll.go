// Package testpoll waits, in tests, for a condition that other goroutines or processes make
// true: it polls with a deadline instead of sleeping for a time that a busy machine may
// exceed.
package testpoll

import (
	"testing"
	"time"
)

// maxInterval bounds the time between two looks at the condition.
const maxInterval = 20 * time.Millisecond

// Until calls cond until it returns true or within has passed, and reports whether it did. It
// looks again after 1 ms, then twice as long each time up to maxInterval, so that a condition
// met at once costs little and one met late costs few calls.
func Until(within time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(within)
	interval := time.Millisecond
	for !cond() {
		left := time.Until(deadline)
		if left <= 0 {
			return false
		}
		time.Sleep(min(interval, left))
		interval = min(2*interval, maxInterval)
	}
	return true
}

// Wait is Until that ends the test, saying what did not happen, if cond is still false
// after within.
func Wait(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if !Until(within, cond) {
		t.Fatalf("not within %v: %s", within, what)
	}
}
