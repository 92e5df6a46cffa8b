//go:build unix

package handle

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/multiproc/multiproc/internal/procid"
)

// envChild makes the test binary a child that opens the token on its command line (see
// runChild).
const envChild = "HANDLE_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(envChild) != "" {
		runChild()
		return
	}
	goleak.VerifyTestMain(m)
}

// runChild opens the object of the token in os.Args[1] (hex), prints its first byte, writes
// 'c' there, then makes an object of its own holding 'k', prints its token, and waits for a
// line on stdin before it exits.
func runChild() {
	b, _ := hex.DecodeString(os.Args[1])
	o, err := Open(b, 7, "test object")
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	fmt.Printf("%c\n", o.Mem[0])
	o.Mem[0] = 'c'
	mine, err := Create(7, 4096)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	mine.Mem[0] = 'k'
	fmt.Println(hex.EncodeToString(mine.Token()))
	mine.Release(false) // the pin keeps it until the parent has it
	bufio.NewReader(os.Stdin).ReadString('\n')
	os.Exit(0)
}

func TestTokenRoundTrip(t *testing.T) {
	tk := token{kind: 3, size: 8192, key: Key{procid.Self(), 42}, holder: procid.Self()}
	got, err := parseToken(tk.append(nil))
	if err != nil || got != tk {
		t.Fatalf("parseToken(append(%+v)) = %+v, %v", tk, got, err)
	}
	for _, bad := range [][]byte{nil, make([]byte, tokenSize), tk.append(nil)[:tokenSize-1]} {
		if _, err := parseToken(bad); err == nil {
			t.Errorf("parseToken(%x) succeeded", bad)
		}
	}
	if _, err := Open(tk.append(nil), 4, "test object"); err == nil {
		t.Error("a token opened as another kind")
	}
}

func TestTravelBothWays(t *testing.T) {
	o, err := Create(7, 4096)
	if err != nil {
		t.Fatal(err)
	}
	o.Mem[0] = 'p'
	link, childEnd, err := NewChildLink()
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	cmd := exec.Command(os.Args[0], hex.EncodeToString(o.Token()))
	cmd.Env = append(os.Environ(), envChild+"=1", link.Env(3))
	cmd.ExtraFiles = []*os.File{childEnd}
	cmd.Stderr = os.Stderr
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	childEnd.Close()
	link.Started(cmd.Process.Pid)
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	lines := bufio.NewScanner(stdout)
	line := func() string {
		if !lines.Scan() {
			t.Fatal("the child said nothing")
		}
		return lines.Text()
	}
	if got := line(); got != "p" {
		t.Fatalf("the child read %q, want p", got)
	}
	theirs := line()
	b, err := hex.DecodeString(theirs)
	if err != nil {
		t.Fatalf("the child said %q", theirs)
	}
	if o.Mem[0] != 'c' {
		t.Fatalf("the child's write is not seen here: %q", o.Mem[0])
	}
	k, err := Open(b, 7, "test object")
	if err != nil {
		t.Fatal(err)
	}
	if k.Mem[0] != 'k' {
		t.Fatalf("the child's object reads %q here", k.Mem[0])
	}
	// The same object again: no second mapping.
	if k2, err := Open(b, 7, "test object"); err != nil || k2 != k {
		t.Fatalf("a second Open = %p, %v; want the first object %p", k2, err, k)
	}
	k.Release(false)
	k.Release(false)
	stdin.Write([]byte("\n"))
	cmd.Wait()
	// The child has ended: its objects can no longer be fetched.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := Open(b, 7, "test object")
		if err != nil {
			if !strings.Contains(err.Error(), "process") {
				t.Fatalf("Open of a token of a process that ended = %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a token of an ended process still opens")
		}
		time.Sleep(10 * time.Millisecond)
	}
	o.Release(false)
	if n := Objects(); n != 0 {
		t.Fatalf("%d objects left after every handle was released", n)
	}
}

func TestOpenFromStranger(t *testing.T) {
	tk := token{kind: 7, size: 4096, key: Key{procid.ID(1 << 32), 1}, holder: procid.ID(1 << 32)}
	_, err := Open(tk.append(nil), 7, "test object")
	if err == nil || !strings.Contains(err.Error(), "neither") {
		t.Fatalf("Open of a token from a process that is neither parent nor child = %v", err)
	}
}
