package procid

// startTag on Windows, where the library starts no processes and shares nothing (see the
// root package's platform_windows.go): no process is known to be alive.
func startTag(pid int) (uint32, bool) { return 0, false }
