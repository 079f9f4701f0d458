// Package pgtest gives tests a real, throwaway PostgreSQL: a cluster started
// from the machine's own binaries (initdb and postgres on PATH or under
// /usr/lib/postgresql/*/bin) in a temporary directory on a free loopback
// port, as an unprivileged user when the tests run as root, removed when the
// test ends. With SOEBOT_TEST_DATABASE_URL set, that server is used instead
// (each test still gets a database of its own).
//
// Without PostgreSQL the tests are skipped with one line saying why, unless
// SOEBOT_REQUIRE_POSTGRES=1 (set by .ci/run), which makes them fail: CI never
// skips the PostgreSQL suites silently.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is one PostgreSQL server for a test.
type Cluster struct {
	// admin is a URL of the maintenance database ("postgres").
	admin *url.URL
	// local is set when this package started the server.
	local *server
	dbs   atomic.Int64
}

// Start returns a running cluster for t, stopped and removed when t ends.
func Start(t testing.TB) *Cluster {
	t.Helper()
	c, stop, err := StartShared()
	if err != nil {
		unavailable(t, err)
	}
	t.Cleanup(stop)
	return c
}

// StartShared starts a cluster for a whole test binary (from TestMain; each
// test takes a database of its own with NewDatabase); stop removes it. Its
// error says why PostgreSQL cannot start; see Required.
func StartShared() (c *Cluster, stop func(), err error) {
	if raw := os.Getenv("SOEBOT_TEST_DATABASE_URL"); raw != "" {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, nil, errors.New("SOEBOT_TEST_DATABASE_URL: cannot parse it")
		}
		return &Cluster{admin: u}, func() {}, nil
	}
	bin, err := findBinaries()
	if err != nil {
		return nil, nil, err
	}
	srv, err := newServer(bin)
	if err != nil {
		return nil, nil, err
	}
	if err := srv.start(); err != nil {
		srv.remove()
		return nil, nil, err
	}
	return &Cluster{admin: srv.url("postgres"), local: srv}, srv.remove, nil
}

// Required reports whether PostgreSQL must be there (SOEBOT_REQUIRE_POSTGRES=1,
// set by .ci/run): then a cluster that cannot start fails the tests.
func Required() bool { return os.Getenv("SOEBOT_REQUIRE_POSTGRES") == "1" }

func unavailable(t testing.TB, err error) {
	t.Helper()
	if Required() {
		t.Fatalf("PostgreSQL is required here (SOEBOT_REQUIRE_POSTGRES=1) but cannot start: %v", err)
	}
	t.Skipf("skipping the PostgreSQL tests: %v (install PostgreSQL or set SOEBOT_TEST_DATABASE_URL)", err)
}

// NewDatabase creates an empty database on the cluster and returns its URL.
func (c *Cluster) NewDatabase(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("soebot_test_%d_%d", os.Getpid(), c.dbs.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.admin.String())
	if err != nil {
		t.Fatalf("pgtest: connect: %v", err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("pgtest: create database: %v", err)
	}
	if c.local == nil { // a shared server: leave it as we found it
		t.Cleanup(func() { c.dropDatabase(name) })
	}
	u := *c.admin
	u.Path = "/" + name
	return u.String()
}

func (c *Cluster) dropDatabase(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.admin.String())
	if err != nil {
		return
	}
	defer func() { _ = conn.Close(ctx) }()
	_, _ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

// Stop shuts the server down (fast shutdown: connections are cut) and
// Restart starts it again on the same port and data. Only for a cluster this
// package started; with SOEBOT_TEST_DATABASE_URL the test is skipped.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	c.needLocal(t)
	if err := c.local.stop(); err != nil {
		t.Fatalf("pgtest: stop: %v", err)
	}
}

// Restart starts a stopped server again.
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	c.needLocal(t)
	if err := c.local.start(); err != nil {
		t.Fatalf("pgtest: restart: %v", err)
	}
}

func (c *Cluster) needLocal(t testing.TB) {
	t.Helper()
	if c.local == nil {
		t.Skip("stopping the server needs a cluster started by the test, not SOEBOT_TEST_DATABASE_URL")
	}
}

// binaries are the paths of initdb and postgres.
type binaries struct{ initdb, postgres string }

func findBinaries() (binaries, error) {
	if i, err := exec.LookPath("initdb"); err == nil {
		if p, err := exec.LookPath("postgres"); err == nil {
			return binaries{i, p}, nil
		}
		if p := filepath.Join(filepath.Dir(i), "postgres"); isFile(p) {
			return binaries{i, p}, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for i := len(dirs) - 1; i >= 0; i-- { // newest version first
		b := binaries{filepath.Join(dirs[i], "initdb"), filepath.Join(dirs[i], "postgres")}
		if isFile(b.initdb) && isFile(b.postgres) {
			return b, nil
		}
	}
	return binaries{}, errors.New("no initdb and postgres found on PATH or under /usr/lib/postgresql/*/bin")
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// server is a postgres process this package runs.
type server struct {
	bin  binaries
	dir  string // data directory's parent (also the socket directory)
	port int
	cred *syscall.Credential // nil unless running as root
	cmd  *exec.Cmd
	exit chan error
	// killed is how the server ended when it had to be killed at stop.
	killed error
}

func newServer(bin binaries) (*server, error) {
	cred, err := unprivileged()
	if err != nil {
		return nil, err
	}
	// Not t.TempDir: its parents are 0700 root when tests run as root, and
	// the server's user must reach its directory.
	dir, err := os.MkdirTemp("", "soebot-pg-")
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, dir: dir, cred: cred}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
	if s.port, err = freePort(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if out, err := s.command(bin.initdb, "-D", s.data(), "-U", "soebot", "--auth=trust", "-E", "UTF8",
		"--locale=C", "--no-sync", "--no-instructions").CombinedOutput(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w: %s", err, lastLines(string(out)))
	}
	return s, nil
}

// unprivileged is who runs PostgreSQL when the tests run as root (it refuses
// to run as root): the "postgres" user if there is one, else "nobody".
func unprivileged() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
		}
	}
	return nil, errors.New("running as root and there is no unprivileged user (postgres or nobody) to run PostgreSQL as")
}

func freePort() (int, error) {
	l, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *server) data() string { return filepath.Join(s.dir, "data") }

func (s *server) url(db string) *url.URL {
	return &url.URL{Scheme: "postgres", User: url.User("soebot"), Host: fmt.Sprintf("127.0.0.1:%d", s.port),
		Path: "/" + db, RawQuery: "sslmode=disable"}
}

func (s *server) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...) //nolint:gosec,noctx // G204: the machine's own initdb/postgres; the server outlives any one request context
	cmd.Env = append(os.Environ(), "LC_ALL=C", "LANG=C")
	cmd.Dir = s.dir
	cmd.SysProcAttr = procAttr(s.cred)
	return cmd
}

// start runs postgres and waits until it accepts connections.
func (s *server) start() error {
	cmd := s.command(s.bin.postgres, "-D", s.data(), "-p", strconv.Itoa(s.port), "-k", s.dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
		"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "shared_buffers=32MB")
	log, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		_ = log.Close()
		return err
	}
	s.cmd, s.exit = cmd, make(chan error, 1)
	go func() { s.exit <- cmd.Wait(); _ = log.Close() }()
	return s.waitReady()
}

func (s *server) waitReady() error {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.exit:
			s.cmd = nil
			return fmt.Errorf("postgres exited: %w: %s", err, s.logTail())
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.url("postgres").String())
		if err == nil {
			_ = conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("postgres did not accept connections within 60s: %s", s.logTail())
}

// stop asks for a fast shutdown (SIGINT) and waits for the process.
func (s *server) stop() error {
	if s.cmd == nil {
		return nil
	}
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-s.exit:
		_ = err // a fast shutdown exits non-zero; nothing to report
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		s.killed = <-s.exit // it did not stop within 30s
	}
	s.cmd = nil
	return nil
}

func (s *server) remove() {
	_ = s.stop()
	_ = os.RemoveAll(s.dir)
}

func (s *server) logTail() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	return lastLines(string(b))
}

func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
