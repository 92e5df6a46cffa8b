//go:build unix

package procid

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSelf(t *testing.T) {
	id := Self()
	if id.Pid() != os.Getpid() {
		t.Fatalf("Self().Pid() = %d, want %d", id.Pid(), os.Getpid())
	}
	if !Alive(id) {
		t.Fatal("this process is not alive")
	}
	if tag, ok := startTag(os.Getpid()); !ok || tag != uint32(id) {
		t.Fatalf("startTag = %d %v, Self has %d", tag, ok, uint32(id))
	}
}

func TestDeadAndReused(t *testing.T) {
	if Alive(0) {
		t.Fatal("ID 0 is alive")
	}
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	pid := cmd.Process.Pid
	tag, ok := startTag(pid)
	if !ok {
		t.Fatal("a running child has no start time")
	}
	id := newID(pid, tag)
	if !Alive(id) {
		t.Fatal("a running child is not alive")
	}
	if Alive(newID(pid, tag+1)) {
		t.Fatal("a process that started at another time is taken for the child")
	}
	cmd.Process.Kill()
	// A zombie is dead: poll until the kernel has made it one.
	deadline := time.Now().Add(10 * time.Second)
	for Alive(id) {
		if time.Now().After(deadline) {
			t.Fatal("a killed child (a zombie, not reaped yet) is still alive")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Wait()
	if Alive(id) {
		t.Fatal("a reaped child is alive")
	}
}

func BenchmarkAlive(b *testing.B) {
	tag, _ := startTag(os.Getppid())
	id := newID(os.Getppid(), tag)
	for range b.N {
		if !Alive(id) {
			b.Fatal("the parent is not alive")
		}
	}
}

func BenchmarkAliveDead(b *testing.B) {
	id := newID(os.Getppid(), 0) // no process started then
	for range b.N {
		if Alive(id) {
			b.Fatal("alive")
		}
	}
}

func TestOnExit(t *testing.T) {
	cmd := exec.Command("sleep", "10")
	if err := cmd.Start(); err != nil {
		t.Skip(err)
	}
	defer cmd.Wait()
	tag, _ := startTag(cmd.Process.Pid)
	id := newID(cmd.Process.Pid, tag)
	woken := make(chan struct{}, 2)
	stop, ok := OnExit(id, func() { woken <- struct{}{} })
	if !ok {
		cmd.Process.Kill()
		t.Skip("no pidfd here")
	}
	defer stop()
	// A watch stopped before the end calls nothing (and leaves no goroutine: goleak).
	stop2, _ := OnExit(id, func() { t.Error("a stopped watch was called") })
	stop2()
	select {
	case <-woken:
		t.Fatal("woken while the process lives")
	case <-time.After(20 * time.Millisecond):
	}
	killed := time.Now()
	cmd.Process.Kill()
	select {
	case <-woken:
		t.Logf("woken %v after the kill", time.Since(killed))
	case <-time.After(10 * time.Second):
		t.Fatal("not woken when the process ended")
	}
	// A process that has ended already: woken at once.
	done := make(chan struct{})
	stop3, _ := OnExit(newID(cmd.Process.Pid, tag+1), func() { close(done) })
	defer stop3()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("a watch of an ended process was not woken")
	}
}
