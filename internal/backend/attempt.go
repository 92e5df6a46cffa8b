package backend

// FirstAttempt returns the attempt at which w's items start: 1, unless w has a FirstAttempt
// method saying more (items run before on a cluster host that vanished, see internal/hostwork).
func FirstAttempt(w Work) int {
	if a, ok := w.(interface{ FirstAttempt() int }); ok && a.FirstAttempt() > 1 {
		return a.FirstAttempt()
	}
	return 1
}
