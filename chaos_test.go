//go:build unix

package multiproc_test

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/multiproc/multiproc"
	"github.com/multiproc/multiproc/internal/spawn"
)

// workersNamed returns the pids of this process's children whose worker name starts with
// prefix: started or starting, whether or not they have answered their handshake.
func workersNamed(prefix string) []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	want := []byte(spawn.EnvName + "=" + prefix + "-")
	me := os.Getpid()
	var pids []int
	for _, st := range stats {
		b, err := os.ReadFile(st)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces, so read after its last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) < 2 || string(f[1]) != strconv.Itoa(me) {
			continue
		}
		dir := filepath.Dir(st)
		env, err := os.ReadFile(filepath.Join(dir, "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.HasPrefix(kv, want) {
				pid, _ := strconv.Atoi(filepath.Base(dir))
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// With Retries, a pool whose workers are killed at random every 20-50ms for 3 s, in the middle
// of tasks and of their handshakes alike, completes every Map: a replacement that dies before
// its handshake is started again, and the work waits for it. (The kills stop after 3 s, so
// that a machine too loaded to start a worker between two kills still ends the test.)
func TestMapUnderRandomKills(t *testing.T) {
	p := newPool(t, multiproc.Processes(3), multiproc.Retries(5), multiproc.Name("Chaos"))
	ctx := ctxFor(t)
	var kills atomic.Int64
	killing := make(chan struct{})
	go func() {
		defer close(killing)
		for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
			time.Sleep(time.Duration(20+rand.IntN(31)) * time.Millisecond)
			if pids := workersNamed("Chaos"); len(pids) > 0 {
				syscall.Kill(pids[rand.IntN(len(pids))], syscall.SIGKILL)
				kills.Add(1)
			}
		}
	}()
	defer func() { <-killing }()
	ins := make([]time.Duration, 200)
	for i := range ins {
		ins[i] = time.Duration(i%3) * time.Millisecond
	}
	for round, done := 0, false; !done; round++ {
		select {
		case <-killing:
			done = true // one more round after the kills
		default:
		}
		outs, err := multiproc.Map(ctx, p, sleepy, ins, multiproc.ChunkSize(1))
		if err != nil {
			t.Fatalf("round %d, after %d kills: %v", round, kills.Load(), err)
		}
		for i, pid := range outs {
			if pid == 0 {
				t.Fatalf("round %d: item %d has no result", round, i)
			}
		}
	}
	t.Logf("%d kills; %+v", kills.Load(), p.Stats())
	if n := kills.Load(); n < 10 {
		t.Fatalf("only %d kills: the test did not test", n)
	}
}
