// Package cluster coordinates replicas of soebot that share one database
// (PostgreSQL): a lease decides which replica runs the notification poller
// and delivers the outbox, a shared set of seen Slack event ids drops a
// retry that Slack gave to another replica's connection, and Latest keeps an
// older App Home render from replacing a newer one. Both live in the
// store, so they work unchanged on bbolt, where there is one process and the
// lease is always this one's.
package cluster

import (
	"crypto/rand"
	"encoding/hex"
	"os"
)

var (
	bucketLeases = []byte("cluster_leases")
	bucketSeen   = []byte("cluster_seen_events")
)

// Buckets are this package's buckets (pass to store.Open).
func Buckets() [][]byte { return [][]byte{bucketLeases, bucketSeen, bucketLatest} }

// ReplicaID names this process in leases and logs: the host name (the pod's
// name on Kubernetes) and a random suffix, so a restarted pod is a new holder.
func ReplicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "soebot"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "-" + hex.EncodeToString(b[:])
}
