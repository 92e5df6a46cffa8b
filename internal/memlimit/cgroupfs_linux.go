package memlimit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// This file finds our own cgroup v2 directory and reads the small cgroupfs files. It is kept
// apart from the cgroup lifecycle so that the parsing can be tested on any machine.

// ownCgroupDir returns the directory of the calling process's cgroup v2, from the contents of
// /proc/self/mountinfo and /proc/self/cgroup.
func ownCgroupDir(mountinfo, cgroup []byte) (string, error) {
	mnt, root, err := cgroup2Mount(mountinfo)
	if err != nil {
		return "", err
	}
	rel, err := unifiedPath(cgroup)
	if err != nil {
		return "", err
	}
	// The mount may show only a subtree (its root field is not "/"); our path is then made
	// relative to that subtree. A path outside it cannot be reached through this mount.
	if root != "/" {
		r, ok := strings.CutPrefix(rel, root)
		if !ok || (r != "" && r[0] != '/') {
			return "", fmt.Errorf("our cgroup %s is outside the cgroup2 mount's root %s", rel, root)
		}
		rel = r
	}
	if rel == "" {
		rel = "/"
	}
	return filepath.Join(mnt, rel), nil
}

// cgroup2Mount returns the mount point and the mounted root of the first cgroup2 file system in
// mountinfo ("36 25 0:30 / /sys/fs/cgroup rw,... shared:9 - cgroup2 cgroup2 rw,nsdelegate").
// Usually it is /sys/fs/cgroup; on hybrid systems it is /sys/fs/cgroup/unified.
func cgroup2Mount(mountinfo []byte) (mountPoint, root string, err error) {
	for line := range bytes.Lines(mountinfo) {
		pre, post, ok := bytes.Cut(line, []byte(" - "))
		if !ok {
			continue
		}
		if f := bytes.Fields(post); len(f) == 0 || string(f[0]) != "cgroup2" {
			continue
		}
		f := bytes.Fields(pre)
		if len(f) < 5 {
			continue
		}
		return unescapeMountinfo(string(f[4])), unescapeMountinfo(string(f[3])), nil
	}
	return "", "", errors.New("no cgroup2 file system is mounted")
}

// unescapeMountinfo undoes mountinfo's octal escapes ("\040" for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unifiedPath returns the cgroup v2 path in /proc/self/cgroup (the "0::/path" line).
func unifiedPath(cgroup []byte) (string, error) {
	for line := range bytes.Lines(cgroup) {
		if p, ok := bytes.CutPrefix(bytes.TrimRight(line, "\n"), []byte("0::")); ok {
			s := string(p)
			// "/.." and deleted groups show when our cgroup is outside our cgroup namespace.
			if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "/..") || strings.HasSuffix(s, " (deleted)") {
				return "", fmt.Errorf("our cgroup v2 path %q cannot be used", s)
			}
			return s, nil
		}
	}
	return "", errors.New("the process is in no cgroup v2 (no 0:: line in /proc/self/cgroup)")
}

// hasWord reports whether a space-separated cgroupfs list (cgroup.controllers,
// cgroup.subtree_control) contains word.
func hasWord(list []byte, word string) bool {
	for _, f := range bytes.Fields(list) {
		if string(f) == word {
			return true
		}
	}
	return false
}

// parseKeyed returns key's value in a flat keyed cgroupfs file such as memory.events
// ("low 0\nhigh 0\nmax 3\noom 1\noom_kill 1\n").
func parseKeyed(b []byte, key string) (int64, bool) {
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) == 2 && string(f[0]) == key {
			v, err := strconv.ParseInt(string(f[1]), 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}

// writeCgroupFile writes a value to an existing cgroupfs file. Unlike os.WriteFile it never
// creates the file: a missing interface file means the controller is not there.
func writeCgroupFile(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
