//go:build !multiproc_portable

package spawn

// executable is the path that re-executes this very binary, even if its file was replaced or
// removed since it started.
func executable() string { return "/proc/self/exe" }
