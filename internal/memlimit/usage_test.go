//go:build linux

package memlimit

import (
	"os"
	"testing"
)

func TestParseStatm(t *testing.T) {
	u, ok := parseStatm([]byte("339599 26285 392 162 0 35853 0\n"))
	if !ok || u.Resident != 26285*pageSize || u.Shared != 392*pageSize || u.Private() != (26285-392)*pageSize {
		t.Errorf("parseStatm = %+v, %v", u, ok)
	}
	for _, bad := range []string{"", "1 2", "1  2 3\n", "1 x 3\n", "-1 2 3\n"} {
		if _, ok := parseStatm([]byte(bad)); ok {
			t.Errorf("parseStatm(%q): ok", bad)
		}
	}
}

func TestReadUsage(t *testing.T) {
	u, err := ReadUsage(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if u.Resident <= 0 || u.Shared < 0 || u.Private() <= 0 || u.Private() > u.Resident {
		t.Errorf("ReadUsage(self) = %+v", u)
	}
	if rss, err := RSS(os.Getpid()); err != nil || rss <= 0 {
		t.Errorf("RSS(self) = %d, %v", rss, err)
	}
	if _, err := ReadUsage(deadPid(t)); err == nil {
		t.Error("ReadUsage of a dead pid: want an error")
	}
}
