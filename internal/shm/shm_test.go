//go:build unix

package shm

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// envChild makes the test binary the other process of TestShared: it maps the memory at
// descriptor 3, checks what the parent wrote, and answers.
const envChild = "SHM_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) != "" {
		if err := child(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

func child() error {
	size, err := Size(3)
	if err != nil {
		return err
	}
	mem, err := Map(3, int(size))
	if err != nil {
		return err
	}
	if !bytes.Equal(mem[:len(greeting)], []byte(greeting)) {
		return fmt.Errorf("child read %q", mem[:len(greeting)])
	}
	copy(mem[size-int64(len(answer)):], answer)
	return Unmap(mem)
}

const (
	greeting = "from the parent"
	answer   = "from the child"
)

// The memory is shared with another process that maps the descriptor it inherited.
func TestShared(t *testing.T) {
	const size = 1 << 20
	f, err := Create("shm-test", size)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, err := Map(int(f.Fd()), size)
	if err != nil {
		t.Fatal(err)
	}
	defer Unmap(mem)
	copy(mem, greeting)

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=1")
	cmd.ExtraFiles = []*os.File{f}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if got := string(mem[size-len(answer):]); got != answer {
		t.Fatalf("the parent read %q where the child wrote %q", got, answer)
	}
}

func TestCreateZeroedAndSized(t *testing.T) {
	const size = 3 * 4096
	f, err := Create("shm-test", size)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got, err := Size(int(f.Fd())); err != nil || got != size {
		t.Fatalf("Size = %d, %v; want %d", got, err, size)
	}
	mem, err := Map(int(f.Fd()), size)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mem, make([]byte, size)) {
		t.Error("new shared memory is not all zeroes")
	}
	if err := Unmap(mem); err != nil {
		t.Fatal(err)
	}
}

// Nothing made by Create has a name: the file has no link left, and only its owner could
// have opened it while it had one.
func TestNothingNamed(t *testing.T) {
	f, err := Create("shm-test", 4096)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Nlink != 0 {
		t.Errorf("the shared memory has %d links, want 0", st.Nlink)
	}
	// A memfd's mode is 0777, but it has no name to open it by; a file's is 0600.
	if perm := fi.Mode().Perm(); Kind == "file" && perm != 0o600 {
		t.Errorf("the shared memory's mode is %v, want 0600", perm)
	}
}

func TestBadSizes(t *testing.T) {
	if _, err := Create("shm-test", 0); err == nil {
		t.Error("Create of 0 bytes succeeded")
	}
	if _, err := Map(0, -1); err == nil {
		t.Error("Map of -1 bytes succeeded")
	}
	if _, err := Size(-1); err == nil {
		t.Error("Size of descriptor -1 succeeded")
	}
}

// The build tag multiproc_portable selects the portable mechanism on Linux too.
func TestKind(t *testing.T) {
	want := "file"
	if runtime.GOOS == "linux" && !portableTag {
		want = "memfd"
	}
	if Kind != want {
		t.Errorf("Kind = %q, want %q", Kind, want)
	}
}
