// Package bench holds soebot's performance benchmarks (docs/benchmarks.md):
// ack latency under a slow SOE, end-to-end /soe experts latency and the
// bot's own overhead, poller CPU per cycle, memory and start-up time with
// 10,000 linked users and subscriptions, throttle compliance, and (issue 21)
// slash commands at 50 in flight and back-to-back bursts against a bare
// slack-go client in the same run (with and without the transport's burst
// hold), and /soe experts with a slow SOE. They run the real bot
// (internal/e2e, or the same wiring in a child process for per-process CPU
// and RSS), or its transport alone, against the loopback fakes.
//
//	go test -run '^$' -bench . -benchtime=1x ./internal/bench/
//
// The normal test suite runs every benchmark once at toy sizes
// (TestBenchmarksRun) and asserts nothing about timing.
package bench
