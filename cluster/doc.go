// Package cluster runs a multiproc pool's tasks on worker hosts on any number of machines,
// through a NATS server with JetStream (github.com/nats-io/nats.go): a pool made with At
// sends its tasks to the server, and hosts — the same program, serving (Serve, or
// multiproc.Main with MULTIPROC_SERVE set) — run them on their worker processes and send the
// results back. Map, Imap, ImapUnordered, Apply and Submit are those of a local pool.
//
// It is a module of its own, so that a program that does not use a cluster does not link
// NATS (see the README).
//
// # Hosts
//
// A program that imports this package serves as a worker host from its multiproc.Main() when
// the environment has MULTIPROC_SERVE=<url> (and optionally MULTIPROC_PROCESSES=<n>,
// MULTIPROC_NAME=<namespace>, MULTIPROC_LOST_AFTER=<duration>), until SIGTERM or SIGINT, then
// exits 0. A host takes a task only when one of its workers is free, and only for a function
// its binary registered.
//
// # Delivery
//
// Each call's items travel in tasks of one or more items (ChunkSize; Map's automatic chunks
// make about four per worker of the hosts serving the pool), one JetStream message each, kept
// in the server's store until a host has published its result, which the pool reads from a
// stream of its own. A host that vanishes has its tasks given to another LostAfter after its
// last word (DefaultLostAfter, 10s). A task that runs twice is delivered once: the pool keeps
// the first result of each task. Values larger than the server's max payload travel in chunks
// on a stream of their own, purged once read.
//
// # Concurrency
//
// At, Serve and the options are safe for concurrent use; a pool made with At is as safe as
// any pool. Serve blocks until its ctx ends.
package cluster
