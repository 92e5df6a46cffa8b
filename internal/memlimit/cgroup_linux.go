package memlimit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// ErrNoCgroup is wrapped by OpenCgroupRoot's error when this process cannot give its children
// cgroups with a memory limit; the error says which step failed.
var ErrNoCgroup = errors.New(errPrefix + "no writable cgroup v2 with the memory controller")

// groupPrefix starts the name of every cgroup this package creates: "multiproc-<pid>-<n>", pid
// being the creating process's, so that groups left by a crashed parent can be recognised.
const groupPrefix = "multiproc-"

// A CgroupRoot is our own cgroup v2 directory, below which worker cgroups are created.
// Its methods are safe for concurrent use.
type CgroupRoot struct {
	dir    string
	prefix string
	seq    atomic.Uint64
}

// OpenCgroupRoot checks that worker cgroups with a memory limit can be made here and returns
// where. It finds our cgroup (/proc/self/cgroup, the cgroup2 mount in /proc/self/mountinfo),
// checks that the memory controller is available to it and enabled for its children (enabling
// it if need be), removes empty groups left by dead parents, and then proves the whole path on
// a probe group: mkdir, memory.max, a real process (/bin/true) started into it with
// CLONE_INTO_CGROUP, rmdir. Any failure returns an error wrapping ErrNoCgroup, after which the
// caller falls back to RLIMIT_DATA and the Watchdog.
//
// Enabling the memory controller for our children fails with EBUSY when our own cgroup holds
// processes and is not the root (cgroup v2's "no internal processes" rule): the usual case in a
// container or a systemd unit, which then needs the parent run in a leaf of a delegated subtree.
func OpenCgroupRoot(ctx context.Context) (*CgroupRoot, error) {
	mountinfo, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil, noCgroup(err)
	}
	cgroup, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return nil, noCgroup(err)
	}
	dir, err := ownCgroupDir(mountinfo, cgroup)
	if err != nil {
		return nil, noCgroup(err)
	}
	return openCgroupRoot(ctx, dir)
}

func noCgroup(err error) error { return fmt.Errorf("%w: %w", ErrNoCgroup, err) }

func openCgroupRoot(ctx context.Context, dir string) (*CgroupRoot, error) {
	controllers, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		return nil, noCgroup(err)
	}
	if !hasWord(controllers, "memory") {
		return nil, noCgroup(fmt.Errorf("the memory controller is not available in %s", dir))
	}
	subtree := filepath.Join(dir, "cgroup.subtree_control")
	enabled, err := os.ReadFile(subtree)
	if err != nil {
		return nil, noCgroup(err)
	}
	if !hasWord(enabled, "memory") {
		if err := writeCgroupFile(subtree, "+memory"); err != nil {
			if errors.Is(err, unix.EBUSY) {
				err = fmt.Errorf("enabling memory for the children of %s, which holds processes itself: %w", dir, err)
			} else {
				err = fmt.Errorf("enabling memory for the children of %s: %w", dir, err)
			}
			return nil, noCgroup(err)
		}
	}
	r := &CgroupRoot{dir: dir, prefix: groupPrefix + strconv.Itoa(os.Getpid()) + "-"}
	r.sweep()
	if err := r.probe(ctx); err != nil {
		return nil, noCgroup(err)
	}
	return r, nil
}

// probe makes a group and starts a process into it, as every worker will be.
func (r *CgroupRoot) probe(ctx context.Context) error {
	g, err := r.NewGroup(64 << 20)
	if err != nil {
		return err
	}
	var runErr error
	if path := trueBinary(); path != "" {
		cmd := exec.CommandContext(ctx, path)
		cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: g.FD()}
		if err := cmd.Run(); err != nil {
			runErr = fmt.Errorf("starting a process into cgroup %s: %w", g.Dir(), err)
		}
	}
	return errors.Join(runErr, g.Remove(ctx))
}

// trueBinary returns a program that exits at once, for the probe, or "" if there is none (the
// probe then stops short of starting a process).
func trueBinary() string {
	for _, p := range []string{"/bin/true", "/usr/bin/true"} {
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// sweep removes empty groups created by parents that have died without removing them.
// Groups that still hold processes stay: rmdir fails on them.
func (r *CgroupRoot) sweep() {
	entries, err := os.ReadDir(r.dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), groupPrefix)
		if !ok || !e.IsDir() {
			continue
		}
		pidStr, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if err != nil || pid == os.Getpid() {
			continue
		}
		if unix.Kill(pid, 0) == unix.ESRCH {
			os.Remove(filepath.Join(r.dir, e.Name()))
		}
	}
}

// Dir returns the cgroup directory below which worker groups are made.
func (r *CgroupRoot) Dir() string { return r.dir }

// NewGroup creates a cgroup for one worker with memory.max = limit, memory.swap.max = 0 (where
// swap is accounted) and memory.oom.group = 1 (the OOM killer then kills every process in it,
// so processes a task started die with their worker), and opens it for CLONE_INTO_CGROUP.
func (r *CgroupRoot) NewGroup(limit int64) (*Cgroup, error) {
	if err := checkLimit(limit); err != nil {
		return nil, err
	}
	dir := filepath.Join(r.dir, r.prefix+strconv.FormatUint(r.seq.Add(1), 10))
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf(errPrefix+"creating cgroup: %w", err)
	}
	fail := func(err error) (*Cgroup, error) {
		os.Remove(dir)
		return nil, fmt.Errorf(errPrefix+"setting up cgroup %s: %w", dir, err)
	}
	if err := writeCgroupFile(filepath.Join(dir, "memory.max"), strconv.FormatInt(limit, 10)); err != nil {
		return fail(err)
	}
	// Without swap accounting (or with no swap) the file is missing, and nothing can swap.
	if err := writeCgroupFile(filepath.Join(dir, "memory.swap.max"), "0"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fail(err)
	}
	// memory.oom.group appeared in Linux 4.19; before, only the biggest process is killed.
	if err := writeCgroupFile(filepath.Join(dir, "memory.oom.group"), "1"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fail(err)
	}
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(err)
	}
	return &Cgroup{dir: dir, fd: fd}, nil
}

// A Cgroup is one worker's cgroup. Its methods are safe for concurrent use.
type Cgroup struct {
	dir string

	mu sync.Mutex
	fd int // -1 once closed
}

// Dir returns the cgroup's directory.
func (c *Cgroup) Dir() string { return c.dir }

// FD returns the open cgroup directory to start a process into, or -1 after CloseFD:
//
//	attr.UseCgroupFD, attr.CgroupFD = true, g.FD() // attr is the child's *syscall.SysProcAttr
//
// The kernel then creates the child inside the cgroup (clone3 with CLONE_INTO_CGROUP, Linux
// 5.7), so it never runs a moment without the limit. Keep it open until the start returns.
func (c *Cgroup) FD() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fd
}

// CloseFD closes the descriptor FD returned, once the process has been started.
func (c *Cgroup) CloseFD() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fd < 0 {
		return nil
	}
	err := unix.Close(c.fd)
	c.fd = -1
	return err
}

// AddProcess moves a running process into the cgroup (cgroup.procs): for kernels or callers
// that cannot start it there with FD. The process runs unlimited until then.
func (c *Cgroup) AddProcess(pid int) error {
	if err := writeCgroupFile(filepath.Join(c.dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
		return fmt.Errorf(errPrefix+"moving pid %d into %s: %w", pid, c.dir, err)
	}
	return nil
}

// OOMKills returns how many processes the OOM killer has killed in the cgroup for going over
// memory.max (memory.events' oom_kill).
func (c *Cgroup) OOMKills() (int64, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "memory.events"))
	if err != nil {
		return 0, fmt.Errorf(errPrefix+"%w", err)
	}
	n, ok := parseKeyed(b, "oom_kill")
	if !ok {
		return 0, fmt.Errorf(errPrefix+"no oom_kill in %s/memory.events", c.dir)
	}
	return n, nil
}

// Current returns the memory charged to the cgroup now (memory.current), in bytes.
func (c *Cgroup) Current() (int64, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, "memory.current"))
	if err != nil {
		return 0, fmt.Errorf(errPrefix+"%w", err)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf(errPrefix+"parsing %s/memory.current: %w", c.dir, err)
	}
	return n, nil
}

// Remove kills whatever is still in the cgroup (processes a task started and left behind),
// and removes it. The kernel lets a cgroup go only once its last process has exited, which
// happens shortly after the kill: Remove retries until then or until ctx is done. A cgroup
// that is gone already is not an error.
func (c *Cgroup) Remove(ctx context.Context) error {
	c.CloseFD()
	c.kill()
	delay := time.Millisecond
	for {
		err := unix.Rmdir(c.dir)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) {
			return fmt.Errorf(errPrefix+"removing cgroup %s: %w", c.dir, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf(errPrefix+"removing cgroup %s: %w (%w)", c.dir, err, context.Cause(ctx))
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// kill ends every process in the cgroup: at once with cgroup.kill (Linux 5.14), else one by
// one from cgroup.procs.
func (c *Cgroup) kill() {
	err := writeCgroupFile(filepath.Join(c.dir, "cgroup.kill"), "1")
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		return
	}
	procs, err := os.ReadFile(filepath.Join(c.dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(procs)) {
		if pid, err := strconv.Atoi(f); err == nil {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
}
