package footprint

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
)

// smapsEntry renders one mapping as /proc/PID/smaps does, with the fields droppable reads
// among some it does not.
func smapsEntry(header string, rss, anonymous int) string {
	return fmt.Sprintf("%s\nSize:               2204 kB\nRss:                %4d kB\n"+
		"Pss:                 689 kB\nAnonymous:          %4d kB\nTHPeligible:           0\n"+
		"VmFlags: rd ex mr mw me\n", header, rss, anonymous)
}

func TestDroppable(t *testing.T) {
	const exe, libc = "fe:00 9987778   /tmp/probe", "fe:00 1234567   /usr/lib/x86_64-linux-gnu/libc.so.6"
	entries := []struct {
		header      string
		rss, anon   int
		wantTrimmed bool
	}{
		{"00400000-00627000 r-xp 00000000 " + exe, 2076, 0, true},  // the binary's text
		{"00627000-0088a000 r--p 00227000 " + exe, 2188, 0, true},  // its read-only data
		{"0088a000-008df000 rw-p 00489000 " + exe, 188, 64, false}, // its data: writable
		{"008df000-02921000 rw-p 00000000 00:00 0 ", 92, 92, false},
		{"7f046da46000-7f046da6c000 r--p 00000000 " + libc, 152, 0, true},
		{"7f046da6c000-7f046dbc2000 r-xp 00026000 " + libc, 912, 0, true},
		{"7f046dbc2000-7f046dbc9000 r--p 0017c000 " + libc, 0, 0, false},   // nothing resident
		{"7f046dc15000-7f046dc19000 r--p 001cf000 " + libc, 16, 16, false}, // relocated RELRO
		{"7f046dc30000-7f046dc31000 rw-s 00000000 00:01 2049 /memfd:multiproc-status (deleted)", 4, 0, false},
		{"7f046dc40000-7f046dc50000 r--p 00000000 fe:00 555 /data/index.bin", 64, 0, false}, // no code
		{"7f046dc50000-7f046dc60000 r--s 00000000 fe:00 666 /lib/shared.so", 64, 0, false},  // shared
		{"7f046dc60000-7f046dc61000 r-xs 00001000 fe:00 666 /lib/shared.so", 4, 0, false},
		{"7f046dc39000-7f046dc3b000 r-xp 00000000 00:00 0                          [vdso]", 8, 0, false},
	}
	var smaps strings.Builder
	var want []string
	for _, e := range entries {
		smaps.WriteString(smapsEntry(e.header, e.rss, e.anon))
		if e.wantTrimmed {
			want = append(want, strings.Fields(e.header)[0])
		}
	}
	spans, err := droppable(strings.NewReader(smaps.String()))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range spans {
		got = append(got, fmt.Sprintf("%08x-%08x", s.lo, s.hi))
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("droppable = %v, want %v", got, want)
	}
	if len(spans) > 0 && spans[0].rss != 2076<<10 {
		t.Errorf("first span's rss = %d, want %d", spans[0].rss, 2076<<10)
	}
}

// TestDroppableUnsure checks that what droppable cannot be sure of is kept: a mapping
// without an Anonymous line, and text that is not smaps.
func TestDroppableUnsure(t *testing.T) {
	noAnon := "00400000-00627000 r-xp 00000000 fe:00 9987778 /tmp/probe\nRss:  2076 kB\n"
	if spans, err := droppable(strings.NewReader(noAnon)); err != nil || len(spans) != 0 {
		t.Errorf("without an Anonymous line: droppable = %v, %v; want nothing", spans, err)
	}
	for _, bad := range []string{
		"Rss: 4 kB\n", // a field before any mapping
		"00400000 r-xp 00000000 fe:00 9987778 /tmp/probe\n",
		"00627000-00400000 r-xp 00000000 fe:00 9987778 /tmp/probe\n",
		"hello world\n",
	} {
		if spans, err := droppable(strings.NewReader(bad)); err == nil {
			t.Errorf("droppable(%q) = %v, nil; want an error", bad, spans)
		}
	}
}

// TestDroppableAllocs checks that reading smaps allocates per mapping kept, not per line.
func TestDroppableAllocs(t *testing.T) {
	smaps, err := os.ReadFile("/proc/self/smaps")
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(10, func() {
		if _, err := droppable(bytes.NewReader(smaps)); err != nil {
			t.Fatal(err)
		}
	})
	lines := bytes.Count(smaps, []byte("\n"))
	t.Logf("%d allocations for %d lines of smaps", int(allocs), lines)
	if allocs > 32 {
		t.Errorf("droppable made %v allocations for %d lines; want at most 32", allocs, lines)
	}
}
