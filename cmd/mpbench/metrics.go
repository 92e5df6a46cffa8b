//go:build unix

package main

import "regexp"

// metric names one row of the table. The ids are what -only matches and what
// bench/python/pools.py uses as keys, so the two must agree.
type metric struct {
	id          string
	title       string
	unit        string
	lowerBetter bool
	limit       string // the id of the machine limit this row is held against; empty: none
}

// The implementations compared in every row, in column order.
const (
	implMultiproc = "multiproc"
	implPool      = "pool" // multiprocessing.Pool, fork
	implPPE       = "ppe"  // concurrent.futures.ProcessPoolExecutor, fork
)

// The apply row is held against a ping-pong over the library's own transport, the
// shared-memory rings; the bytes row against socket streaming, as its target is
// stated. The socketpair ping-pongs and the ring stream are extra limit lines.
var rows = []metric{
	{"start", "pool start, until both workers answered", "ms", true, "limit.spawn"},
	{"apply", "apply round trip", "µs", true, "limit.pingpong_ring"},
	{"map_chunk1", "Map, ChunkSize(1)", "tasks/s", false, "limit.goroutine_stream"},
	{"map_auto", "Map, automatic chunk size", "tasks/s", false, "limit.goroutine_stream"},
	{"map_auto_cold", "Map, automatic chunk size, a fresh pool's first call, 10× the ints", "tasks/s", false, ""},
	{"imap_unordered_chunk1", "ImapUnordered, ChunkSize(1)", "tasks/s", false, "limit.goroutine_stream"},
	{"bytes", "identity Map, 8 MiB []byte, both ways", "GB/s", false, "limit.stream"},
	{"bytes_cold", "identity Map, 8 MiB []byte, a fresh pool's first call", "GB/s", false, ""},
	{"cpu_speedup", "CPU-bound speedup, 50 ms tasks", "x", false, "limit.cpu_pair"},
	{"rss", "idle worker RSS", "MiB", true, "limit.child_rss"},
	{"uss", "idle worker USS: its private pages", "MiB", true, "limit.child_uss"},
	{"uss_pss", "idle worker PSS: shared pages split", "MiB", true, "limit.child_pss"},
	{"recycle_never", "Map, 1 ms CPU tasks, auto chunk", "tasks/s", false, ""},
	{"recycle_every25", "same, recycling every 25 tasks", "tasks/s", false, ""},
	{"recycle_kept", "recycling kept: every 25 ÷ never", "x", false, ""},
}

var limitRows = []metric{
	{id: "limit.pingpong_ring", title: "ping-pong, shared-memory ring (the library's transport)", unit: "µs", lowerBetter: true},
	{id: "limit.pingpong_raw", title: "ping-pong, socketpair, raw syscalls", unit: "µs", lowerBetter: true},
	{id: "limit.pingpong_conn", title: "ping-pong, socketpair, net.FileConn", unit: "µs", lowerBetter: true},
	{id: "limit.spawn", title: "re-exec 2 children until ready", unit: "ms", lowerBetter: true},
	{id: "limit.child_rss", title: "idle re-exec'd Go child RSS", unit: "MiB", lowerBetter: true},
	{id: "limit.child_uss", title: "idle re-exec'd Go child USS", unit: "MiB", lowerBetter: true},
	{id: "limit.child_pss", title: "idle re-exec'd Go child PSS", unit: "MiB", lowerBetter: true},
	{id: "limit.memcpy", title: "memcpy, 8 MiB buffers", unit: "GB/s"},
	{id: "limit.stream", title: "socketpair stream to a child", unit: "GB/s"},
	{id: "limit.stream_ring", title: "shared-memory ring stream to a child", unit: "GB/s"},
	{id: "limit.goroutine_stream", title: "goroutine pool, streaming", unit: "tasks/s"},
	{id: "limit.goroutine_roundtrip", title: "goroutine pool, round trip", unit: "µs", lowerBetter: true},
	{id: "limit.cpu_pair", title: "same busy tasks, 2 bare processes", unit: "x"},
	{id: "limit.cores", title: "CPU cores (ideal speedup)", unit: "x"},
}

// results holds every figure of a run: results[metric id][implementation], and
// limits[limit id].
type results struct {
	rows   map[string]map[string]*Summary
	limits map[string]*Summary
}

func newResults() *results {
	return &results{rows: map[string]map[string]*Summary{}, limits: map[string]*Summary{}}
}

func (r *results) set(id, impl string, s *Summary) {
	if r.rows[id] == nil {
		r.rows[id] = map[string]*Summary{}
	}
	r.rows[id][impl] = s
}

// selection says which metrics and limits a run measures. A limit is measured when
// -only matches it or a selected row is held against it.
type selection struct{ only *regexp.Regexp }

func (s selection) row(id string) bool { return s.only == nil || s.only.MatchString(id) }

func (s selection) limit(id string) bool {
	if s.row(id) {
		return true
	}
	for _, m := range rows {
		if m.limit == id && s.row(m.id) {
			return true
		}
	}
	return false
}

// anyRow reports whether some table row (not just a limit) is selected.
func (s selection) anyRow() bool {
	for _, m := range rows {
		if s.row(m.id) {
			return true
		}
	}
	return false
}
