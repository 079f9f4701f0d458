package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/app"
)

// childEnv, when "1", makes the test binary run the bot instead of tests:
// the memory and poller benchmarks measure the bot alone, in its own
// process, wired as cmd/bot wires it (app.LoadConfig from the environment,
// app.New, Run until SIGTERM).
const childEnv = "SOEBOT_BENCH_CHILD"

func runChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg, err := app.LoadConfig(os.LookupEnv)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child bot:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stopped with an error", "err", err)
		return 1
	}
	return 0
}

// child is the bot running in its own process against e's fakes and database.
type child struct {
	cmd       *exec.Cmd
	addr      string        // its public HTTP server
	adminAddr string        // its admin server (/metrics)
	startup   time.Duration // from exec to Socket Mode connected (hello)
	stderr    *bytes.Buffer
}

// startChild stops e's in-process bot (the fakes stay up) and starts the bot
// in a child process on the same database and fakes.
func startChild(tb testing.TB, e *env, poll time.Duration) *child {
	tb.Helper()
	if err := e.Stop(); err != nil {
		tb.Fatal(err)
	}
	ln, err := new(net.ListenConfig).Listen(tb.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // only wanted a free port for the child
	aln, err := new(net.ListenConfig).Listen(tb.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	adminAddr := aln.Addr().String()
	_ = aln.Close() // the same for its admin server
	c := e.Config
	vars := map[string]string{
		childEnv: "1", "SLACK_APP_TOKEN": c.SlackAppToken, "SLACK_BOT_TOKEN": c.SlackBotToken, "SLACK_API_URL": c.SlackAPIURL,
		"SOE_URL": c.SOEURL, "SOE_API_URL": c.SOEAPIURL, "SOE_CLIENT_ID": c.SOEClientID, "PUBLIC_URL": c.PublicURL,
		"HTTP_ADDR": addr, "ADMIN_ADDR": adminAddr, "DB_PATH": c.DBPath, "TOKEN_KEY": c.TokenKey, "POLL_INTERVAL": poll.String(),
		"LOG_LEVEL": "warn", "LOG_FORMAT": "json",
	}
	// Not tied to tb.Context(): that ends before the cleanup that stops the child with SIGTERM.
	cmd := exec.CommandContext(context.Background(), os.Args[0], "-test.run=^$")
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); vars[k] == "" && !strings.HasPrefix(k, "GO") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	ch := &child{cmd: cmd, addr: addr, adminAddr: adminAddr, stderr: &bytes.Buffer{}}
	cmd.Stderr = ch.stderr
	opens := e.Slack.Opens()
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ch.stop(tb) })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.Slack.WaitOpens(ctx, opens+1); err != nil {
		tb.Fatalf("child bot did not connect: %v\n%s", err, ch.stderr)
	}
	if err := e.Slack.WaitConnected(ctx); err != nil {
		tb.Fatalf("child bot did not connect: %v\n%s", err, ch.stderr)
	}
	ch.startup = time.Since(t0)
	return ch
}

func (c *child) stop(tb testing.TB) {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- c.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			tb.Errorf("child bot: %v\n%s", err, c.stderr)
		}
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		tb.Errorf("child bot did not stop on SIGTERM (then killed: %v)\n%s", <-done, c.stderr)
	}
}

// cpu is the CPU time the child used so far (every thread, ns precision).
func (c *child) cpu(tb testing.TB) time.Duration {
	tb.Helper()
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", c.cmd.Process.Pid))
	if err != nil || len(tasks) == 0 {
		tb.Fatalf("no schedstat for the child: %v", err)
	}
	var sum time.Duration
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // the thread just ended
		}
		f := strings.Fields(string(b))
		if len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			sum += time.Duration(ns)
		}
	}
	return sum
}

// memInfo is the child's memory as the kernel sees it, in bytes.
type memInfo struct {
	rss, peak, anon, file int64 // VmRSS, VmHWM, RssAnon, RssFile (+RssShmem)
}

// rss reads /proc/<pid>/status.
func (c *child) rss(tb testing.TB) (m memInfo) {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", c.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		f := strings.Fields(v)
		if len(f) == 0 {
			continue
		}
		kb, _ := strconv.ParseInt(f[0], 10, 64)
		switch k {
		case "VmRSS":
			m.rss = kb * 1024
		case "VmHWM":
			m.peak = kb * 1024
		case "RssAnon":
			m.anon = kb * 1024
		case "RssFile", "RssShmem":
			m.file += kb * 1024
		}
	}
	return m
}

// metrics scrapes the child's /metrics (plain samples, summed over labels).
func (c *child) metrics(tb testing.TB) map[string]float64 {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodGet, "http://"+c.adminAddr+"/metrics", nil)
	if err != nil {
		tb.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name := line[:i]
		if j := strings.IndexByte(name, '{'); j >= 0 {
			name = name[:j]
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[name] += v
		}
	}
	return out
}

// feedReads counts poll cycles: reads of the first page of a scope's
// activity feed (one per scope and cycle).
func (e *env) feedReads() int {
	n := 0
	for _, r := range e.SOE.Requests() {
		if !strings.HasSuffix(r.Path, "/questions") {
			continue
		}
		if q, err := url.ParseQuery(r.Query); err == nil && q.Get("sort") == "activity" && (q.Get("page") == "" || q.Get("page") == "1") {
			n++
		}
	}
	return n
}

// waitFeedReads waits until the fake SOE saw at least n feed reads.
func (e *env) waitFeedReads(tb testing.TB, n int, timeout time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for e.feedReads() < n {
		if time.Now().After(deadline) {
			tb.Fatalf("the poller did not run (%d of %d feed reads)", e.feedReads(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
