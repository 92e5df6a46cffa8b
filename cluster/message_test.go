package cluster

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/multiproc/multiproc/internal/backend"
	"github.com/multiproc/multiproc/internal/wire"
)

func TestMessagesRoundTrip(t *testing.T) {
	tk := &task{pool: "p1", id: 7, job: 3, lo: 10, hi: 20, attempt: 2, retries: 1, timeout: time.Second,
		fn: "square", values: values{id: "v1", chunks: []uint64{4, 5, 6}}}
	got, err := decodeTask(encodeTask(tk))
	if err != nil || !reflect.DeepEqual(got, tk) {
		t.Fatalf("task: %+v, %v", got, err)
	}
	res := &result{task: 7, attempt: 2, host: "h", segments: []segment{
		{lo: 10, hi: 12, values: values{frame: []byte{1, 2, 3}}},
		{lo: 12, hi: 13, failed: failureOf(&backend.RemoteError{Err: wire.Error{Type: "*errors.errorString", Message: "m", Sentinels: []string{"s"}}})},
		{lo: 13, hi: 20, failed: failureOf(&backend.DiedError{Death: backend.Death{Pid: 9, ExitCode: -1, Signal: 9}})},
	}}
	b, err := encodeResult(res)
	if err != nil {
		t.Fatal(err)
	}
	gotRes, err := decodeResult(b)
	if err != nil || !reflect.DeepEqual(gotRes, res) {
		t.Fatalf("result: %+v, %v", gotRes, err)
	}
	if e, ok := gotRes.segments[2].failed.err().(*backend.DiedError); !ok || e.Death.Pid != 9 {
		t.Fatalf("a death came back as %v", gotRes.segments[2].failed.err())
	}
}

// TestMalformedMessages: any prefix or corruption of a message is an error, never a panic.
func TestMalformedMessages(t *testing.T) {
	tb := encodeTask(&task{pool: "p", id: 1, lo: 0, hi: 3, attempt: 1, fn: "f", values: values{frame: []byte("xyz")}})
	rb, _ := encodeResult(&result{task: 1, attempt: 1, segments: []segment{{lo: 0, hi: 3, values: values{id: "a", chunks: []uint64{1}}}}})
	rng := rand.New(rand.NewPCG(1, 2))
	for _, b := range [][]byte{tb, rb} {
		for n := range len(b) {
			decodeTask(b[:n])
			decodeResult(b[:n])
		}
		for range 2000 {
			c := append([]byte(nil), b...)
			c[rng.IntN(len(c))] = byte(rng.Uint32())
			decodeTask(c)
			decodeResult(c)
		}
	}
	if _, err := decodeTask(tb[:len(tb)-1]); err == nil {
		t.Error("a task cut short decoded")
	}
}
