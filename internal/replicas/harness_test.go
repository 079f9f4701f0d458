package replicas

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe/soefake"
	"github.com/soebot/soebot/internal/store/pgstore/pgtest"
)

// TestMain runs the bot when the binary is re-executed as a replica.
func TestMain(m *testing.M) {
	if os.Getenv("SOEBOT_REPLICA_ID") != "" {
		os.Exit(replicaMain())
	}
	os.Exit(m.Run())
}

func replicaMain() int {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg, err := app.LoadConfig(os.LookupEnv)
	if err != nil {
		log.Error("config", "err", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	a, err := app.New(ctx, cfg, app.Options{Logger: log, ReplicaID: os.Getenv("SOEBOT_REPLICA_ID"), PingInterval: 2 * time.Second})
	if err != nil {
		log.Error("start", "err", err)
		return 1
	}
	if err := a.Run(ctx); err != nil {
		log.Error("run", "err", err)
		return 1
	}
	return 0
}

// fleet is N bot processes on one database and one pair of fakes, behind
// one PUBLIC_URL (a proxy that spreads browsers over the replicas).
type fleet struct {
	t     testing.TB
	Slack *slackfake.Fake
	SOE   *soefake.Server
	PG    *pgtest.Cluster
	dbURL string
	env   map[string]string
	dir   string

	proxy  *http.Server
	public string

	mu       sync.Mutex
	replicas map[string]*replica
	next     int
	route    func(r *http.Request) string // replica id for a browser request; nil: round robin
	rr       int
}

type replica struct {
	id   string
	addr string // HTTP_ADDR
	cmd  *exec.Cmd
	done chan error
}

// start runs a fleet of n replicas on PostgreSQL polling every poll.
func start(t testing.TB, n int, poll time.Duration) *fleet {
	t.Helper()
	return startOn(t, n, poll, true)
}

// startOn runs n replicas on PostgreSQL, or (onPG false, n 1) one bot on a
// bbolt file, the single-process deployment.
func startOn(t testing.TB, n int, poll time.Duration, onPG bool) *fleet {
	t.Helper()
	c := &fleet{t: t, dir: t.TempDir(), replicas: map[string]*replica{}}
	if onPG {
		c.PG = pgtest.Start(t)
		c.dbURL = c.PG.NewDatabase(t)
	}
	c.Slack = slackfake.New(slackfake.Options{PingEvery: 100 * time.Millisecond, Seed: 7})
	c.SOE = soefake.New(soefake.Options{AutoApprove: true, Seed: true})
	e2e.SeedSlack(c.Slack, c.SOE)
	t.Cleanup(func() { c.stopAll(); c.Slack.Close(); c.SOE.Close() })
	c.startProxy()
	c.env = map[string]string{
		"SLACK_APP_TOKEN": c.Slack.AppToken(), "SLACK_BOT_TOKEN": c.Slack.BotToken(), "SLACK_API_URL": c.Slack.APIURL(),
		"SOE_URL": c.SOE.SiteURL(), "SOE_API_URL": c.SOE.APIURL(), "SOE_CLIENT_ID": c.SOE.ClientID(),
		"PUBLIC_URL": c.public, "ADMIN_ADDR": "127.0.0.1:0", "DATABASE_URL": c.dbURL, "DB_PATH": filepath.Join(c.dir, "soebot.db"),
		"TOKEN_KEY":     base64.StdEncoding.EncodeToString([]byte("replicas-test-key-0123456789abcd")),
		"POLL_INTERVAL": poll.String(), "LOG_LEVEL": "debug", "LOG_FORMAT": "text",
	}
	for range n {
		c.add()
	}
	c.waitConnections(n)
	return c
}

func (c *fleet) startProxy() {
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		c.t.Fatal(err)
	}
	c.public = "http://" + ln.Addr().String()
	rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		u, _ := url.Parse("http://" + c.pick(pr.In))
		pr.SetURL(u)
		pr.Out.Host = pr.In.Host
	}}
	c.proxy = &http.Server{Handler: rp, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = c.proxy.Serve(ln) }()
	c.t.Cleanup(func() { _ = c.proxy.Close() })
}

// pick chooses the replica that serves a browser request.
func (c *fleet) pick(r *http.Request) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.route != nil {
		if id := c.route(r); id != "" {
			if rep := c.replicas[id]; rep != nil {
				return rep.addr
			}
		}
	}
	var live []string
	for _, rep := range c.replicas {
		live = append(live, rep.addr)
	}
	if len(live) == 0 {
		return "127.0.0.1:1"
	}
	c.rr++
	return live[c.rr%len(live)]
}

// add starts one more replica and waits until it is ready.
func (c *fleet) add() *replica {
	c.t.Helper()
	c.mu.Lock()
	c.next++
	id := fmt.Sprintf("r%d", c.next)
	c.mu.Unlock()
	addr := freeAddr(c.t)
	cmd := exec.CommandContext(context.WithoutCancel(c.t.Context()), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "SOEBOT_REPLICA_ID="+id, "HTTP_ADDR="+addr)
	for k, v := range c.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logf, err := os.Create(filepath.Join(c.dir, id+".log"))
	if err != nil {
		c.t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	rep := &replica{id: id, addr: addr, cmd: cmd, done: make(chan error, 1)}
	go func() { rep.done <- cmd.Wait(); _ = logf.Close() }()
	c.mu.Lock()
	c.replicas[id] = rep
	c.mu.Unlock()
	if err := c.waitReady(rep); err != nil {
		c.t.Fatalf("replica %s: %v\n%s", id, err, c.logTail(id))
	}
	return rep
}

func (c *fleet) waitReady(rep *replica) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-rep.done:
			rep.done <- err
			return fmt.Errorf("exited: %w", err)
		default:
		}
		if ready(rep.addr) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("not ready after 30s")
}

func ready(addr string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/readyz", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// kill ends a replica with SIGKILL: no shutdown, no lease released.
func (c *fleet) kill(id string) { c.end(id, syscall.SIGKILL) }

// stop ends a replica with SIGTERM, as a rolling deploy does.
func (c *fleet) stop(id string) { c.end(id, syscall.SIGTERM) }

func (c *fleet) end(id string, sig syscall.Signal) {
	c.mu.Lock()
	rep := c.replicas[id]
	delete(c.replicas, id)
	c.mu.Unlock()
	if rep == nil {
		return
	}
	_ = rep.cmd.Process.Signal(sig)
	select {
	case err := <-rep.done:
		_ = err // killed or stopped: a non-zero exit is expected
	case <-time.After(20 * time.Second):
		_ = rep.cmd.Process.Kill()
		c.t.Logf("replica %s did not stop within 20s; killed: %v", id, <-rep.done)
	}
}

func (c *fleet) stopAll() {
	c.mu.Lock()
	var ids []string
	for id := range c.replicas {
		ids = append(ids, id)
	}
	c.mu.Unlock()
	for _, id := range ids {
		c.stop(id)
	}
}

func (c *fleet) ids() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for id := range c.replicas {
		out = append(out, id)
	}
	return out
}

func (c *fleet) waitConnections(n int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Slack.WaitConnections(ctx, n); err != nil {
		c.t.Fatalf("%d Socket Mode connections: %v", n, err)
	}
}

func (c *fleet) logTail(id string) string {
	b, _ := os.ReadFile(filepath.Join(c.dir, id+".log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}

func freeAddr(t testing.TB) string {
	ln, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	return ln.Addr().String()
}

func wait(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
