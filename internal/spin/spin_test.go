package spin

import "testing"

func TestPolicyStopsAfterMissesAndProbes(t *testing.T) {
	var p Policy
	for i := range maxMisses {
		if !p.Allow() {
			t.Fatalf("refused after %d misses", i)
		}
		p.Miss()
	}
	allowed := 0
	for range 10 * probeEvery {
		if p.Allow() {
			allowed++
		}
	}
	if allowed != 10 {
		t.Fatalf("after %d misses, allowed %d polls of %d, want one in %d", maxMisses, allowed, 10*probeEvery, probeEvery)
	}
	p.Hit()
	for i := range 2 {
		if !p.Allow() {
			t.Fatalf("poll %d after a hit refused", i)
		}
	}
}
