package replicas

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/e2e"
)

// BenchmarkReplicas compares, in one run, one bot on bbolt with one and three
// replicas on PostgreSQL: ack p99 and answered commands per second for
// `/soe experts kubernetes` typed by a linked user (a database read of the
// link, an SOE call, a reply), 8 at a time, and the RSS of each replica.
//
//	go test -run '^$' -bench Replicas -benchtime 300x ./internal/replicas/
func BenchmarkReplicas(b *testing.B) {
	for _, bc := range []struct {
		name string
		n    int
		pg   bool
	}{{"bbolt-1", 1, false}, {"postgres-1", 1, true}, {"postgres-3", 3, true}} {
		b.Run(bc.name, func(b *testing.B) {
			c := startOn(b, bc.n, time.Minute, bc.pg)
			c.link(b, "alice")
			acks := make([]time.Duration, 0, b.N)
			var mu sync.Mutex
			sem := make(chan struct{}, 8)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for range b.N {
				sem <- struct{}{}
				wg.Go(func() {
					defer func() { <-sem }()
					s := c.slash(b, e2e.SlackUser("alice"), e2e.General, "experts kubernetes")
					ack, _ := c.Slack.WaitAck(wait(b, 10*time.Second), s.EnvelopeID)
					c.sees(b, s, "Experts on kubernetes")
					mu.Lock()
					acks = append(acks, ack.At.Sub(s.SentAt))
					mu.Unlock()
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			slices.Sort(acks)
			b.ReportMetric(float64(acks[len(acks)*99/100].Microseconds())/1000, "ack-p99-ms")
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "replies/s")
			b.ReportMetric(c.rssMB(), "rss-MB/replica")
		})
	}
}

// rssMB is the mean resident set size of the replicas, from /proc.
func (c *fleet) rssMB() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var sum, n float64
	for _, rep := range c.replicas {
		raw, err := os.ReadFile("/proc/" + strconv.Itoa(rep.cmd.Process.Pid) + "/status")
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(raw), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
				kb, _ := strconv.ParseFloat(f[1], 64)
				sum += kb / 1024
				n++
			}
		}
	}
	if n == 0 {
		return 0
	}
	return sum / n
}
