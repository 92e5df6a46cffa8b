//go:build unix && (!linux || multiproc_portable)

package shm

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// What a process killed inside Create left behind is removed by the next sweep; what a
// living process has is not.
func TestSweep(t *testing.T) {
	base := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	dead := cmd.Process.Pid // reaped: no process has this pid, unless it was reused since
	if alive(dead) {
		t.Skipf("pid %d was reused at once", dead)
	}
	left := filepath.Join(base, dirPrefix+strconv.Itoa(dead)+"-123")
	living := filepath.Join(base, dirPrefix+strconv.Itoa(os.Getppid())+"-456")
	other := filepath.Join(base, "not-ours-"+strconv.Itoa(dead)+"-789")
	for _, dir := range []string{left, living, other} {
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "m"), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sweep(base)
	if _, err := os.Stat(left); !os.IsNotExist(err) {
		t.Errorf("the directory of a dead process is still there (%v)", err)
	}
	for _, dir := range []string{living, other} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("sweep removed %s: %v", dir, err)
		}
	}
}

// Create leaves nothing in the directory it works in.
func TestNothingLeft(t *testing.T) {
	f, err := Create("shm-test", 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	entries, err := os.ReadDir(baseDir())
	if err != nil {
		t.Fatal(err)
	}
	mine := fmt.Sprintf("%s%d-", dirPrefix, os.Getpid())
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), mine) {
			t.Errorf("%s/%s is left behind", baseDir(), e.Name())
		}
	}
}
