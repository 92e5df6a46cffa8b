// Package cluster runs a multiproc pool's tasks on worker hosts of several machines, through NATS JetStream.
package cluster
