//go:build race

package exampletest

// raceEnabled is true when the test binary was built with -race.
const raceEnabled = true
