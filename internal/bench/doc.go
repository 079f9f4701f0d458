// Package bench holds soebot's performance benchmarks (docs/benchmarks.md):
// ack latency under a slow SOE, end-to-end /soe experts latency and the
// bot's own overhead, poller CPU per cycle, memory and start-up time with
// 10,000 linked users and subscriptions, and throttle compliance. They run
// the real bot (internal/e2e, or the same wiring in a child process for
// per-process CPU and RSS) against the loopback fakes.
//
//	go test -run '^$' -bench . -benchtime=1x ./internal/bench/
//
// The normal test suite runs every benchmark once at toy sizes
// (TestBenchmarksRun) and asserts nothing about timing.
package bench
