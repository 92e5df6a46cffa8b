//go:build race

package memlimit

// raceEnabled: the test binary, and so every child helper, runs under the race detector, whose
// runtime maps shadow memory that RLIMIT_DATA counts.
const raceEnabled = true
