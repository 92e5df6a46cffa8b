//go:build !linux

package procid

// aliveOther answers Alive for another process.
func aliveOther(id ID) bool {
	tag, ok := startTag(id.Pid())
	return ok && tag == uint32(id)
}
