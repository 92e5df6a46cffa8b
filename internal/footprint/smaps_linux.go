package footprint

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"slices"
	"strconv"
)

// span is a mapping whose pages Trim may drop.
type span struct {
	lo, hi uintptr
	rss    int64 // bytes resident when smaps was read
}

// fileID names a mapped file by device and inode, as smaps does.
type fileID struct{ dev, inode uint64 }

// header is what a mapping's first line in smaps says.
type header struct {
	span
	file     fileID // zero for memory that is not a file's
	exec     bool   // executable: its file is one the process runs code from
	readOnly bool   // read-only and private: a candidate, if it holds no private page
}

// errMalformed reports smaps text droppable cannot read; Trim then drops nothing.
var errMalformed = errors.New("footprint: malformed smaps")

// droppable reads smaps (the format of /proc/PID/smaps) and returns the resident mappings
// Trim may drop: private, read-only mappings of files the process runs code from, that hold
// no private page. Files with no executable mapping (data a program mapped itself) are left
// alone: the process image stays mapped for the life of the process, but a data mapping
// could be unmapped, and its addresses reused for other memory, between the read of smaps
// and the madvise.
//
// It allocates a few slices, not per line: Trim runs in a worker that has just started, and
// garbage there is new heap pages, the very memory Trim is there to keep small.
func droppable(smaps io.Reader) ([]span, error) {
	var (
		candidates []header
		codeFiles  []fileID // files with an executable mapping: a handful
		cur        header
		seen       bool  // a header was read
		anonymous  int64 // bytes of cur's private pages; -1 until its Anonymous line
	)
	keep := func() {
		if seen && cur.readOnly && cur.file != (fileID{}) && anonymous == 0 && cur.rss > 0 {
			candidates = append(candidates, cur)
		}
	}
	sc := bufio.NewScanner(smaps)
	for sc.Scan() {
		line := sc.Bytes()
		if key, value, ok := cutField(line); ok {
			if !seen {
				return nil, errMalformed
			}
			switch string(key) {
			case "Rss":
				cur.rss = kiB(value)
			case "Anonymous":
				anonymous = kiB(value)
			}
			continue
		}
		keep()
		h, ok := parseHeader(line)
		if !ok {
			return nil, errMalformed
		}
		if h.exec && h.file != (fileID{}) && !slices.Contains(codeFiles, h.file) {
			codeFiles = append(codeFiles, h.file)
		}
		cur, seen, anonymous = h, true, -1
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	keep()
	var spans []span
	for _, c := range candidates {
		if slices.Contains(codeFiles, c.file) {
			spans = append(spans, c.span)
		}
	}
	return spans, nil
}

// cutField splits a field line, "Rss:     2068 kB", into its key and value; a mapping's
// header line has no colon at the end of its first word.
func cutField(line []byte) (key, value []byte, ok bool) {
	word, rest := nextWord(line)
	if len(word) < 2 || word[len(word)-1] != ':' {
		return nil, nil, false
	}
	return word[:len(word)-1], rest, true
}

// parseHeader parses a mapping's first line, as in /proc/PID/maps:
// "00400000-00629000 r-xp 00000000 fe:00 9987778    /path/to/file".
func parseHeader(line []byte) (header, bool) {
	addr, rest := nextWord(line)
	perms, rest := nextWord(rest)
	_, rest = nextWord(rest) // offset
	dev, rest := nextWord(rest)
	inode, rest := nextWord(rest)
	path := bytes.TrimLeft(rest, " ")

	lo, hi, ok1 := bytes.Cut(addr, []byte("-"))
	major, minor, ok2 := bytes.Cut(dev, []byte(":"))
	start, err1 := strconv.ParseUint(string(lo), 16, 64)
	end, err2 := strconv.ParseUint(string(hi), 16, 64)
	devMajor, err3 := strconv.ParseUint(string(major), 16, 32)
	devMinor, err4 := strconv.ParseUint(string(minor), 16, 32)
	ino, err5 := strconv.ParseUint(string(inode), 10, 64)
	if !ok1 || !ok2 || err1 != nil || err2 != nil || err3 != nil || err4 != nil || err5 != nil ||
		end <= start || len(perms) != 4 {
		return header{}, false
	}
	h := header{span: span{lo: uintptr(start), hi: uintptr(end)}}
	// A file has a path and an inode; [vdso], [heap] and anonymous memory do not.
	if ino != 0 && len(path) > 0 && path[0] == '/' {
		h.file = fileID{dev: devMajor<<32 | devMinor, inode: ino}
	}
	h.exec = perms[2] == 'x'
	h.readOnly = perms[0] == 'r' && perms[1] == '-' && perms[3] == 'p'
	return h, true
}

// nextWord splits off the first word of b, skipping the spaces before it.
func nextWord(b []byte) (word, rest []byte) {
	b = bytes.TrimLeft(b, " ")
	if i := bytes.IndexByte(b, ' '); i >= 0 {
		return b[:i], b[i:]
	}
	return b, nil
}

// kiB parses a field's value, "   2068 kB", into bytes; -1 if it is not that.
func kiB(value []byte) int64 {
	n, ok := bytes.CutSuffix(bytes.TrimSpace(value), []byte(" kB"))
	if !ok {
		return -1
	}
	v, err := strconv.ParseInt(string(bytes.TrimSpace(n)), 10, 64)
	if err != nil || v < 0 {
		return -1
	}
	return v << 10
}
