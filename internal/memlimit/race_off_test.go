//go:build !race

package memlimit

// raceEnabled: see race_on_test.go.
const raceEnabled = false
