//go:build linux && !multiproc_portable

package memlimit

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
)

func TestOwnCgroupDir(t *testing.T) {
	const (
		unified = "29 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
		hybrid  = "30 25 0:37 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
			"40 30 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
		subtree = "50 40 0:30 /user.slice/user-1000.slice /mnt/my\\040cg rw - cgroup2 cgroup2 rw\n"
		none    = "22 1 0:21 / /proc rw - proc proc rw\n"
	)
	tests := []struct {
		name, mountinfo, cgroup, want string
		wantErr                       bool
	}{
		{"unified", unified, "0::/user.slice/user-1000.slice/session-3.scope\n", "/sys/fs/cgroup/user.slice/user-1000.slice/session-3.scope", false},
		{"root", unified, "0::/\n", "/sys/fs/cgroup", false},
		{"hybrid", hybrid, "4:memory:/x\n0::/\n", "/sys/fs/cgroup/unified", false},
		{"mounted subtree", subtree, "0::/user.slice/user-1000.slice/app\n", "/mnt/my cg/app", false},
		{"outside the mounted subtree", subtree, "0::/system.slice/app\n", "", true},
		{"outside our namespace", unified, "0::/../../other\n", "", true},
		{"no cgroup2 mount", none, "0::/\n", "", true},
		{"cgroup v1 only", unified, "4:memory:/x\n", "", true},
	}
	for _, tt := range tests {
		got, err := ownCgroupDir([]byte(tt.mountinfo), []byte(tt.cgroup))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: ownCgroupDir = %q, %v; want %q (error: %v)", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCgroupfsParsing(t *testing.T) {
	if !hasWord([]byte("cpuset cpu io memory pids\n"), "memory") || hasWord([]byte("cpu memoryx\n"), "memory") {
		t.Error("hasWord")
	}
	events := []byte("low 0\nhigh 0\nmax 31\noom 2\noom_kill 2\noom_group_kill 1\n")
	if n, ok := parseKeyed(events, "oom_kill"); !ok || n != 2 {
		t.Errorf("parseKeyed(oom_kill) = %d, %v", n, ok)
	}
	if _, ok := parseKeyed(events, "nope"); ok {
		t.Error("parseKeyed of a missing key: ok")
	}
	if got := unescapeMountinfo(`/a\040b\134c\0`); got != `/a b\c\0` {
		t.Errorf("unescapeMountinfo = %q", got)
	}
}

// The cgroup probe on this machine either works, or fails with ErrNoCgroup and leaves nothing
// behind. Where it works, a worker started into its cgroup is OOM-killed over the limit.
func TestCgroupHere(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	root, err := OpenCgroupRoot(ctx)
	if err != nil {
		if !errors.Is(err, ErrNoCgroup) {
			t.Fatalf("OpenCgroupRoot: %v, which does not wrap ErrNoCgroup", err)
		}
		t.Skipf("no cgroup mechanism here, as expected where cgroup v2 is not writable: %v", err)
	}
	g, err := root.NewGroup(testLimit)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Remove(ctx)
	c := startChild(t, "hog", hogBytes, WithEnv(nil, MechanismCgroup, testLimit), &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: g.FD()})
	if err := g.CloseFD(); err != nil || g.FD() != -1 {
		t.Errorf("CloseFD = %v, FD = %d", err, g.FD())
	}
	ws := c.wait(t, time.Minute)
	kills, err := g.OOMKills()
	if err != nil {
		t.Fatal(err)
	}
	d := c.death(ws)
	d.OOMKills = kills
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL || kills == 0 || !d.MemoryLimit() {
		t.Errorf("hog in a %d MiB cgroup ended with %v, oom_kill %d", testLimit/mib, ws, kills)
	}
	t.Logf("2 GiB in a 256 MiB cgroup: OOM-killed after %v", time.Since(c.start))
	if err := g.Remove(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(g.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("cgroup %s still there after Remove: %v", g.Dir(), err)
	}
}

// On a directory that is not a cgroupfs, the probe fails at the right step and cleans up.
func TestOpenCgroupRootFake(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := openCgroupRoot(ctx, dir); !errors.Is(err, ErrNoCgroup) {
		t.Errorf("without cgroup.controllers: %v", err)
	}
	write("cgroup.controllers", "cpu io pids\n")
	if _, err := openCgroupRoot(ctx, dir); !errors.Is(err, ErrNoCgroup) {
		t.Errorf("without the memory controller: %v", err)
	}
	write("cgroup.controllers", "cpu io memory pids\n")
	write("cgroup.subtree_control", "")
	// A group left by a dead parent, and one of a live process (ours: not ours to sweep).
	stale := filepath.Join(dir, groupPrefix+strconv.Itoa(deadPid(t))+"-1")
	live := filepath.Join(dir, groupPrefix+strconv.Itoa(os.Getppid())+"-1")
	for _, d := range []string{stale, live} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Here "+memory" is written to a plain file; then mkdir works but memory.max is missing.
	_, err := openCgroupRoot(ctx, dir)
	if !errors.Is(err, ErrNoCgroup) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("without memory.max: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"cgroup.controllers", "cgroup.subtree_control", filepath.Base(live)}
	if len(names) != len(want) || names[0] != want[0] || names[1] != want[1] || names[2] != want[2] {
		t.Errorf("left in the fake cgroup: %q, want %q (stale swept, probe removed)", names, want)
	}
}

// Remove of an empty group that is not a cgroup (no cgroup.kill, no cgroup.procs) just rmdirs.
func TestCgroupRemove(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "g")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	g := &Cgroup{dir: dir, fd: -1}
	if err := g.Remove(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := g.Remove(context.Background()); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if _, err := g.OOMKills(); err == nil {
		t.Error("OOMKills of a removed group: want an error")
	}
	if _, err := g.Current(); err == nil {
		t.Error("Current of a removed group: want an error")
	}
}
