//go:build unix

package spawn

import (
	"os"
	"syscall"
)

func identityOf(fi os.FileInfo) string {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return identityString(0, 0, fi.Size(), fi.ModTime().UnixNano())
	}
	return identityString(uint64(st.Dev), uint64(st.Ino), fi.Size(), fi.ModTime().UnixNano())
}
