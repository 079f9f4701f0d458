// Package reliability holds the whole-bot reliability and security proofs
// (GitHub issue 9): crash durability of the bbolt store, a second process on
// the same file, SOE and Slack faults, link-flow attacks, secrets hygiene,
// output injection, goroutine leaks at shutdown and a long soak.
//
// Everything lives in the _test.go files; docs/reliability.md lists each
// promise, the test that proves it and the last measured figures.
//
//	go test -race -count=1 ./internal/reliability          # CI (short variants)
//	go test ./internal/reliability -run Soak -soak=10m -timeout 30m  # long soak
//	go test ./internal/reliability -run Crash -kills=500 -timeout 30m # long crash run
package reliability
