// Package footprint makes an idle worker process's resident set small.
//
// A worker is a re-execution of its parent's binary, and starting it maps most of the
// program's code and read-only data: the runtime and every imported package's init run,
// and the kernel's fault-around maps the 16 pages (64 KiB) around each page first read
// from a file. In an idle worker of a small program using this module, 5.7 of its 7.0 MiB
// of RSS were pages of the binary (4.4 MiB: nearly all its text, read-only data and
// pclntab), libc and the dynamic loader, most of them used only while it started. They
// are in the page cache and shared with the parent, so they cost the machine little; but
// they are the worker's RSS, what ps and top show and what the OOM killer weighs.
//
// [Trim], called once when the worker has started, unmaps them as the kernel's reclaim
// would: they stay in the page cache, and those the worker uses again are mapped back on
// their first touch, by a minor fault that reads nothing from disk. What comes back is what
// the worker touches, 64 KiB a fault: most of the runtime's code, type data and pclntab,
// and libc's thread start-up. Measured with cmd/mpbench on the 2-core VM (Linux 6.18; 2
// workers, 0.1 s after their first task; medians of five runs), idle RSS went from 7.0-7.2
// to 4.9-5.2 MiB and PSS from 2.9 to 2.4 MiB; USS, the memory that is the worker's alone,
// stayed at 1.1-1.3 MiB. Two and a half minutes later RSS was the same. The price is paid
// once per worker: about 3 ms of CPU (reading smaps, the madvise calls, about 85 more minor
// faults) on a start that takes about 17 ms, so a pool of 2 started in 32-35 ms instead of
// 28 ms.
//
// Only private, read-only mappings of the files the process runs code from (the executable
// and its shared libraries) are trimmed, and only those that hold no private page: dropping
// such a mapping's pages loses nothing, since the file has every byte of them. A read-only
// mapping with private pages (a shared library's relocated RELRO segment, code patched by a
// debugger or a uprobe) is left alone, as MADV_DONTNEED would revert it to the file.
//
// What did not help, measured on the same kernel: MADV_RANDOM does not stop fault-around
// there (a read of one page still maps 64 KiB), and debug.FreeOSMemory in a fresh worker
// raised its RSS, as the collection it forces touches more than the small heap gives back.
package footprint
