//go:build !linux

package footprint

// Trim does nothing outside Linux, where there is no /proc/self/smaps to tell which pages
// can be dropped safely.
func Trim() {}
