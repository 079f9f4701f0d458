package store

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// holdEnv makes the test binary act as a second process that holds the
// database open until its stdin is closed.
const holdEnv = "SOEBOT_STORE_TEST_HOLD"

func TestMain(m *testing.M) {
	if path := os.Getenv(holdEnv); path != "" {
		os.Exit(holdDB(path))
	}
	goleak.VerifyTestMain(m)
}

func holdDB(path string) int {
	db, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	if err := db.Close(); err != nil {
		return 1
	}
	return 0
}

var bucketA = []byte("a")

func tempPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "soebot.bolt")
}

func mustOpen(t *testing.T, path string, opts Options) *DB {
	t.Helper()
	db, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestOpenCreatesFile(t *testing.T) {
	path := tempPath(t)
	db := mustOpen(t, path, Options{})

	if db.Path() != path {
		t.Errorf("Path() = %q, want %q", db.Path(), path)
	}
	if db.Bolt() == nil || db.Bolt().NoSync {
		t.Errorf("bolt handle missing or NoSync set")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode = %04o, want 0600", got)
	}
	v, err := db.SchemaVersion(context.Background())
	if err != nil || v != 0 {
		t.Errorf("SchemaVersion = %d, %v; want 0, nil", v, err)
	}
	created, err := db.CreatedAt()
	if err != nil || time.Since(created) > time.Minute || created.After(time.Now()) {
		t.Errorf("CreatedAt = %v, %v", created, err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Reopen: creation time is kept.
	db2 := mustOpen(t, path, Options{})
	again, err := db2.CreatedAt()
	if err != nil || !again.Equal(created) {
		t.Errorf("CreatedAt after reopen = %v, %v; want %v", again, err, created)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		opts    Options
		wantIs  error
		wantSub string
	}{
		{"missing directory", filepath.Join(dir, "nope", "db.bolt"), Options{}, fs.ErrNotExist, "does not exist"},
		{"parent is a file", filepath.Join(notDir, "db.bolt"), Options{}, nil, "not a directory"},
		{"path is a directory", dir, Options{}, nil, "not a regular file"},
		{"read-only missing file", filepath.Join(dir, "missing.bolt"), Options{ReadOnly: true}, fs.ErrNotExist, "missing.bolt"},
		{"empty path", "", Options{}, nil, "empty path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(tt.path, tt.opts)
			if err == nil {
				_ = db.Close()
				t.Fatal("Open succeeded")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("err = %v, want Is %v", err, tt.wantIs)
			}
			if !strings.Contains(err.Error(), tt.wantSub) {
				t.Errorf("err = %q, want it to contain %q", err, tt.wantSub)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "nope")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory was created")
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.bolt")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read-only open created the file")
	}
}

func TestBucketsEnsured(t *testing.T) {
	path := tempPath(t)
	names := [][]byte{[]byte("links"), []byte("link_states"), []byte("seen")}
	db := mustOpen(t, path, Options{Buckets: names})
	err := db.View(context.Background(), func(tx Tx) error {
		for _, n := range append(names, []byte(MetaBucket)) {
			if tx.Bucket(n) == nil {
				return fmt.Errorf("bucket %q missing", n)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// Reopening with the same buckets keeps their content.
	if err := db.Update(context.Background(), func(tx Tx) error { return tx.Bucket(names[0]).Put([]byte("k"), []byte("v")) }); err != nil {
		t.Fatal(err)
	}
	_ = db.Close()
	db2 := mustOpen(t, path, Options{Buckets: names})
	_ = db2.View(context.Background(), func(tx Tx) error {
		if got := tx.Bucket(names[0]).Get([]byte("k")); string(got) != "v" {
			t.Errorf("value after reopen = %q", got)
		}
		return nil
	})
}

func TestFileModeTightened(t *testing.T) {
	path := tempPath(t)
	db := mustOpen(t, path, Options{})
	_ = db.Close()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	db2 := mustOpen(t, path, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	_ = db2
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != 0o600 {
		t.Errorf("mode after open = %04o, want 0600", got)
	}
	if !strings.Contains(logs.String(), "changed mode to 0600") {
		t.Errorf("no warning logged; logs: %s", logs.String())
	}
}

type migLog struct {
	mu  sync.Mutex
	ran []int
}

func (l *migLog) mig(v int, name string) Migration {
	return Migration{Version: v, Name: name, Up: func(tx Tx) error {
		l.mu.Lock()
		l.ran = append(l.ran, v)
		l.mu.Unlock()
		return tx.Bucket(bucketA).Put(fmt.Appendf(nil, "m%d", v), []byte(name))
	}}
}

func TestMigrationsRunOnceInOrder(t *testing.T) {
	path := tempPath(t)
	var l migLog
	ms := []Migration{l.mig(1, "one"), l.mig(2, "two"), l.mig(5, "five")}
	db := mustOpen(t, path, Options{Buckets: [][]byte{bucketA}, Migrations: ms})
	if !slices.Equal(l.ran, []int{1, 2, 5}) {
		t.Fatalf("ran %v, want [1 2 5]", l.ran)
	}
	if v, err := db.SchemaVersion(context.Background()); err != nil || v != 5 {
		t.Fatalf("SchemaVersion = %d, %v", v, err)
	}
	_ = db.Close()

	// Same list: nothing runs. One more: only it runs.
	l.ran = nil
	db = mustOpen(t, path, Options{Buckets: [][]byte{bucketA}, Migrations: ms})
	_ = db.Close()
	if len(l.ran) != 0 {
		t.Fatalf("reopen ran %v", l.ran)
	}
	db = mustOpen(t, path, Options{Buckets: [][]byte{bucketA}, Migrations: append(ms, l.mig(6, "six"))})
	if !slices.Equal(l.ran, []int{6}) {
		t.Fatalf("ran %v, want [6]", l.ran)
	}
	// Every step is logged in meta.
	_ = db.View(context.Background(), func(tx Tx) error {
		var keys []string
		_ = tx.Bucket([]byte(MetaBucket)).ForEach(func(k, _ []byte) error {
			if strings.HasPrefix(string(k), migrationPrefix) {
				keys = append(keys, string(k))
			}
			return nil
		})
		if len(keys) != 4 {
			t.Errorf("migration log keys = %v", keys)
		}
		return nil
	})
}

func TestMigrationFailureRollsBackStep(t *testing.T) {
	boom := errors.New("boom")
	tests := []struct {
		name string
		up   func(tx Tx) error
	}{
		{"error", func(tx Tx) error {
			_ = tx.Bucket(bucketA).Put([]byte("partial"), []byte("x"))
			return boom
		}},
		{"panic", func(tx Tx) error {
			_ = tx.Bucket(bucketA).Put([]byte("partial"), []byte("x"))
			panic("kaboom")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			var l migLog
			ms := []Migration{l.mig(1, "one"), {Version: 2, Name: "add-widgets", Up: tt.up}, l.mig(3, "three")}
			db, err := Open(path, Options{Buckets: [][]byte{bucketA}, Migrations: ms})
			if err == nil {
				_ = db.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), `"add-widgets"`) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %q, want migration name and path", err)
			}
			if tt.name == "error" && !errors.Is(err, boom) {
				t.Errorf("err does not wrap the migration error: %v", err)
			}
			if !slices.Equal(l.ran, []int{1}) {
				t.Errorf("ran %v, want [1]", l.ran)
			}

			// The failed step left nothing behind; a fixed list resumes at 2.
			l.ran = nil
			ms[1] = l.mig(2, "add-widgets")
			db = mustOpen(t, path, Options{Buckets: [][]byte{bucketA}, Migrations: ms[:1]})
			if v, _ := db.SchemaVersion(context.Background()); v != 1 {
				t.Errorf("SchemaVersion after failure = %d, want 1", v)
			}
			_ = db.View(context.Background(), func(tx Tx) error {
				if tx.Bucket(bucketA).Get([]byte("partial")) != nil {
					t.Error("failed migration's write was committed")
				}
				return nil
			})
			_ = db.Close()
			mustOpen(t, path, Options{Buckets: [][]byte{bucketA}, Migrations: ms})
			if !slices.Equal(l.ran, []int{2, 3}) {
				t.Errorf("ran %v, want [2 3]", l.ran)
			}
		})
	}
}

func TestMigrationValidation(t *testing.T) {
	up := func(Tx) error { return nil }
	tests := []struct {
		name string
		ms   []Migration
		want string
	}{
		{"zero version", []Migration{{Version: 0, Name: "a", Up: up}}, "must be positive"},
		{"not increasing", []Migration{{Version: 2, Name: "a", Up: up}, {Version: 2, Name: "b", Up: up}}, "above 2"},
		{"empty name", []Migration{{Version: 1, Up: up}}, "empty name"},
		{"nil up", []Migration{{Version: 1, Name: "a"}}, "nil Up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tempPath(t)
			db, err := Open(path, Options{Migrations: tt.ms})
			if err == nil {
				_ = db.Close()
				t.Fatal("Open succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want %q", err, tt.want)
			}
			if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("file created despite invalid migrations")
			}
		})
	}
}

func TestSchemaTooNew(t *testing.T) {
	path := tempPath(t)
	var l migLog
	db := mustOpen(t, path, Options{Buckets: [][]byte{bucketA}, Migrations: []Migration{l.mig(1, "a"), l.mig(2, "b")}})
	_ = db.Close()
	for _, ro := range []bool{false, true} {
		db, err := Open(path, Options{ReadOnly: ro, Migrations: []Migration{l.mig(1, "a")}})
		if !errors.Is(err, ErrSchemaTooNew) {
			if db != nil {
				_ = db.Close()
			}
			t.Errorf("ReadOnly=%v: err = %v, want ErrSchemaTooNew", ro, err)
		}
	}
	// Read-only with pending migrations fails; without migrations it opens.
	db, err := Open(path, Options{ReadOnly: true, Migrations: []Migration{l.mig(1, "a"), l.mig(2, "b"), l.mig(3, "c")}})
	if err == nil || !strings.Contains(err.Error(), "pending") {
		if db != nil {
			_ = db.Close()
		}
		t.Errorf("read-only with pending migrations: err = %v", err)
	}
	mustOpen(t, path, Options{ReadOnly: true})
}

func TestLockedInProcess(t *testing.T) {
	// bbolt uses flock(2), which conflicts between two open file
	// descriptions even inside one process on Linux.
	path := tempPath(t)
	db := mustOpen(t, path, Options{})
	const timeout = 200 * time.Millisecond
	for _, ro := range []bool{false, true} {
		start := time.Now()
		db2, err := Open(path, Options{Timeout: timeout, ReadOnly: ro})
		elapsed := time.Since(start)
		if err == nil {
			_ = db2.Close()
			t.Fatalf("ReadOnly=%v: second Open succeeded", ro)
		}
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) {
			t.Errorf("ReadOnly=%v: err = %v, want ErrLocked naming the path", ro, err)
		}
		if errors.Is(err, ErrCorrupt) {
			t.Errorf("locked file reported as corrupt: %v", err)
		}
		if elapsed > timeout+2*time.Second {
			t.Errorf("ReadOnly=%v: took %v", ro, elapsed)
		}
	}
	// Released on Close.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, path, Options{Timeout: timeout})
}

func TestReadOnlySharesLock(t *testing.T) {
	path := tempPath(t)
	db := mustOpen(t, path, Options{Buckets: [][]byte{bucketA}})
	_ = db.Close()
	r1 := mustOpen(t, path, Options{ReadOnly: true})
	r2 := mustOpen(t, path, Options{ReadOnly: true})
	if err := r1.Update(context.Background(), func(Tx) error { return nil }); err == nil {
		t.Error("Update on read-only DB succeeded")
	}
	if err := r2.Check(); err != nil {
		t.Errorf("Check on read-only DB: %v", err)
	}
	// A writer cannot join readers.
	if db, err := Open(path, Options{Timeout: 100 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		if db != nil {
			_ = db.Close()
		}
		t.Errorf("writer with readers: err = %v, want ErrLocked", err)
	}
}

func TestLockedOtherProcess(t *testing.T) {
	path := tempPath(t)
	// Create it first so the child does not race the parent on creation.
	db := mustOpen(t, path, Options{})
	_ = db.Close()

	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		_ = stdin.Close()
		_ = cmd.Wait()
		t.Fatalf("child did not get ready: %q %v; stderr: %s", line, err, stderr.String())
	}

	const timeout = 300 * time.Millisecond
	start := time.Now()
	db2, err := Open(path, Options{Timeout: timeout})
	elapsed := time.Since(start)
	if err == nil {
		_ = db2.Close()
	}

	_ = stdin.Close()
	if werr := cmd.Wait(); werr != nil {
		t.Errorf("child: %v; stderr: %s", werr, stderr.String())
	}

	if !errors.Is(err, ErrLocked) {
		t.Fatalf("err = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "locked by another process") || !strings.Contains(err.Error(), path) {
		t.Errorf("err = %q, want the message and path", err)
	}
	if elapsed < timeout/2 || elapsed > timeout+2*time.Second {
		t.Errorf("Open took %v with Timeout %v", elapsed, timeout)
	}
	// After the child exits the lock is free.
	mustOpen(t, path, Options{Timeout: timeout})
}

// makeDB creates a database with enough data for several pages and returns
// its bytes.
func makeDB(t *testing.T, path string) []byte {
	t.Helper()
	db := mustOpen(t, path, Options{Buckets: [][]byte{bucketA}})
	err := db.Update(context.Background(), func(tx Tx) error {
		b := tx.Bucket(bucketA)
		for i := range 3000 {
			if err := b.Put(fmt.Appendf(nil, "k%06d", i), bytes.Repeat([]byte{byte(i)}, 100)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func dirListing(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestCorruptFileNotReplaced(t *testing.T) {
	valid := makeDB(t, tempPath(t))
	garbage := make([]byte, 64<<10)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32() & 0xff)
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"garbage", garbage},
		{"garbage one byte", []byte{0x42}},
		{"empty existing file", []byte{}},
		{"truncated to 100 bytes", valid[:100]},
		{"truncated to one page", valid[:4096]},
		{"truncated to meta pages", valid[:8192]},
		{"truncated to 3 pages", valid[:3*4096]},
		{"truncated to half", valid[:len(valid)/2]},
		{"meta pages zeroed", append(make([]byte, 8192), valid[8192:]...)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "soebot.bolt")
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			before := sha256.Sum256(tt.data)
			listing := dirListing(t, dir)

			// Twice: the first failure must not leave the file locked.
			for range 2 {
				db, err := Open(path, Options{Timeout: 200 * time.Millisecond})
				if err == nil {
					_ = db.Close()
					t.Fatal("Open succeeded on a corrupt file")
				}
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
					t.Fatalf("err = %v, want ErrCorrupt naming the path", err)
				}
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if sha256.Sum256(after) != before {
				t.Error("file content changed")
			}
			if got := dirListing(t, dir); !slices.Equal(got, listing) {
				t.Errorf("directory changed: %v -> %v", listing, got)
			}
		})
	}
}

func TestCheckDetectsDamagedPage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "soebot.bolt")
	data := makeDB(t, path)
	damageLeaf(t, data)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	before := sha256.Sum256(data)

	// Meta pages are fine, so a plain Open succeeds (and, with nothing to
	// create, writes nothing); Check finds the damage.
	db := mustOpen(t, path, Options{Buckets: [][]byte{bucketA}})
	if err := db.Check(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Check = %v, want ErrCorrupt", err)
	}
	_ = db.Close()

	db2, err := Open(path, Options{Verify: true})
	if !errors.Is(err, ErrCorrupt) {
		if db2 != nil {
			_ = db2.Close()
		}
		t.Errorf("Open(Verify) = %v, want ErrCorrupt", err)
	}
	after, _ := os.ReadFile(path)
	if sha256.Sum256(after) != before {
		t.Error("file content changed")
	}
}

// damageLeaf overwrites part of the element table of the first leaf page
// of a database file's data (meta pages stay fine, so it still opens).
func damageLeaf(t *testing.T, data []byte) {
	t.Helper()
	off := -1
	for pg := 2; pg*4096 < len(data); pg++ {
		flags := uint16(data[pg*4096+8]) | uint16(data[pg*4096+9])<<8
		if flags == 0x02 { // leaf page
			off = pg*4096 + 16
			break
		}
	}
	if off < 0 {
		t.Fatal("no leaf page found")
	}
	for i := range 64 {
		data[off+i] = 0xff
	}
}

func TestCheckHealthy(t *testing.T) {
	path := tempPath(t)
	makeDB(t, path)
	db := mustOpen(t, path, Options{Verify: true})
	if err := db.Check(); err != nil {
		t.Fatal(err)
	}
}

func TestBackupWhileWriting(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, filepath.Join(dir, "live.bolt"), Options{Buckets: [][]byte{[]byte("x"), []byte("y")}})

	// Each write puts the same key into x and y in one transaction; a
	// consistent snapshot therefore has identical key sets.
	write := func(i int) error {
		return db.Update(context.Background(), func(tx Tx) error {
			k := fmt.Appendf(nil, "%08d", i)
			if err := tx.Bucket([]byte("x")).Put(k, bytes.Repeat([]byte("v"), 200)); err != nil {
				return err
			}
			return tx.Bucket([]byte("y")).Put(k, k)
		})
	}
	for i := range 500 {
		if err := write(i); err != nil {
			t.Fatal(err)
		}
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	errc := make(chan error, 4)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if err := write(1_000_000*(w+1) + i); err != nil {
					errc <- err
					return
				}
			}
		})
	}
	backups := make([]string, 3)
	var berr error
	for i := range backups {
		backups[i] = filepath.Join(dir, fmt.Sprintf("backup-%d.bolt", i))
		if berr = db.BackupFile(backups[i]); berr != nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatalf("writer: %v", err)
	}
	if berr != nil {
		t.Fatalf("BackupFile: %v", berr)
	}

	for _, p := range backups {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %04o", p, fi.Mode().Perm())
		}
		if _, err := os.Stat(p + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s.tmp left behind", p)
		}
		b := mustOpen(t, p, Options{ReadOnly: true, Verify: true})
		err = b.View(context.Background(), func(tx Tx) error {
			x, y := tx.Bucket([]byte("x")), tx.Bucket([]byte("y"))
			if x == nil || y == nil {
				return errors.New("buckets missing")
			}
			nx, ny := x.Len(), y.Len()
			if nx != ny || nx < 500 {
				return fmt.Errorf("inconsistent snapshot: x=%d y=%d", nx, ny)
			}
			return x.ForEach(func(k, _ []byte) error {
				if y.Get(k) == nil {
					return fmt.Errorf("key %s in x but not y", k)
				}
				return nil
			})
		})
		if err != nil {
			t.Errorf("%s: %v", p, err)
		}
		_ = b.Close()
	}

	// The streaming form works too.
	var buf bytes.Buffer
	n, err := db.Backup(&buf)
	if err != nil || n != int64(buf.Len()) || n == 0 {
		t.Errorf("Backup = %d, %v (buffer %d)", n, err, buf.Len())
	}
}

func TestBackupFileRefusesLiveDB(t *testing.T) {
	path := tempPath(t)
	db := mustOpen(t, path, Options{})
	before, _ := os.ReadFile(path)
	for _, p := range []string{path, filepath.Join(filepath.Dir(path), ".", filepath.Base(path))} {
		if err := db.BackupFile(p); err == nil || !strings.Contains(err.Error(), "live database") {
			t.Errorf("BackupFile(%q) = %v", p, err)
		}
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Error("live file changed")
	}
}

func TestBackupFileReplacesStaleTmp(t *testing.T) {
	dir := t.TempDir()
	db := mustOpen(t, filepath.Join(dir, "live.bolt"), Options{})
	dst := filepath.Join(dir, "b.bolt")
	if err := os.WriteFile(dst+".tmp", []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := db.BackupFile(dst); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dst)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("stat = %v, %v", fi, err)
	}
}

func TestSweep(t *testing.T) {
	tests := []struct {
		name  string
		batch int
	}{
		{"small batches", 7},
		{"default batch", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bucket := []byte("states")
			db := mustOpen(t, tempPath(t), Options{Buckets: [][]byte{bucket}, SweepBatch: tt.batch})
			const n = 10_000
			err := db.Update(context.Background(), func(tx Tx) error {
				b := tx.Bucket(bucket)
				for i := range 2 * n {
					val := "live"
					if i%2 == 0 {
						val = "dead"
					}
					if err := b.Put(fmt.Appendf(nil, "%06d", i), []byte(val)); err != nil {
						return err
					}
				}
				_, err := tx.(boltTx).tx.Bucket(bucket).CreateBucket([]byte("nested"))
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			var calls int
			got, err := db.Sweep(context.Background(), bucket, func(_, v []byte) bool {
				calls++
				return string(v) == "dead"
			})
			if err != nil || got != n {
				t.Fatalf("Sweep = %d, %v; want %d", got, err, n)
			}
			if calls != 2*n {
				t.Errorf("expired called %d times, want %d (each key once)", calls, 2*n)
			}
			_ = db.View(context.Background(), func(tx Tx) error {
				b := tx.Bucket(bucket)
				live := 0
				_ = b.ForEach(func(k, v []byte) error {
					if v == nil {
						return nil
					}
					if string(v) != "live" {
						t.Errorf("%s survived with %q", k, v)
					}
					live++
					return nil
				})
				if live != n || tx.(boltTx).tx.Bucket(bucket).Bucket([]byte("nested")) == nil {
					t.Errorf("live = %d, nested kept = %v", live, tx.(boltTx).tx.Bucket(bucket).Bucket([]byte("nested")) != nil)
				}
				return nil
			})
			// Nothing left to delete.
			if got, err := db.Sweep(context.Background(), bucket, func(_, v []byte) bool { return string(v) == "dead" }); got != 0 || err != nil {
				t.Errorf("second Sweep = %d, %v", got, err)
			}
		})
	}
}

func TestSweepErrors(t *testing.T) {
	db := mustOpen(t, tempPath(t), Options{})
	if _, err := db.Sweep(context.Background(), []byte("missing"), func(_, _ []byte) bool { return true }); !errors.Is(err, ErrBucketNotFound) {
		t.Errorf("missing bucket: err = %v", err)
	}
	if _, err := db.Sweep(context.Background(), []byte(MetaBucket), nil); err == nil {
		t.Error("nil func: no error")
	}
}

type record struct {
	Team  string    `json:"team"`
	User  string    `json:"user"`
	Since time.Time `json:"since"`
}

func TestJSONHelpers(t *testing.T) {
	db := mustOpen(t, tempPath(t), Options{Buckets: [][]byte{bucketA}})
	want := record{Team: "T1", User: "U1", Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := db.Update(context.Background(), func(tx Tx) error { return PutJSON(tx, bucketA, "T1/U1", want) }); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(context.Background(), func(tx Tx) error {
		return tx.Bucket(bucketA).Put([]byte("bad"), []byte("{not json"))
	}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		bucket    []byte
		key       string
		wantFound bool
		wantErrIs error
		wantErr   bool
	}{
		{"present", bucketA, "T1/U1", true, nil, false},
		{"absent key", bucketA, "T1/U2", false, nil, false},
		{"missing bucket", []byte("nope"), "T1/U1", false, ErrBucketNotFound, true},
		{"bad json", bucketA, "bad", true, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got record
			var found bool
			err := db.View(context.Background(), func(tx Tx) error {
				var err error
				found, err = GetJSON(tx, tt.bucket, tt.key, &got)
				return err
			})
			if (err != nil) != tt.wantErr || (tt.wantErrIs != nil && !errors.Is(err, tt.wantErrIs)) {
				t.Fatalf("err = %v", err)
			}
			if found != tt.wantFound {
				t.Errorf("found = %v, want %v", found, tt.wantFound)
			}
			if tt.name == "present" && got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}

	putTests := []struct {
		name   string
		bucket []byte
		key    string
		v      any
		is     error
	}{
		{"missing bucket", []byte("nope"), "k", 1, ErrBucketNotFound},
		{"unencodable", bucketA, "k", make(chan int), nil},
		{"empty key", bucketA, "", 1, nil},
	}
	for _, tt := range putTests {
		t.Run("put "+tt.name, func(t *testing.T) {
			err := db.Update(context.Background(), func(tx Tx) error { return PutJSON(tx, tt.bucket, tt.key, tt.v) })
			if err == nil || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func TestConcurrentTransactions(t *testing.T) {
	db := mustOpen(t, tempPath(t), Options{Buckets: [][]byte{bucketA}})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 100 {
					key := fmt.Sprintf("g%d-%d", g, i)
					if i%3 == 0 {
						_ = db.Update(context.Background(), func(tx Tx) error { return PutJSON(tx, bucketA, key, i) })
					} else {
						_ = db.View(context.Background(), func(tx Tx) error {
							var v int
							_, err := GetJSON(tx, bucketA, key, &v)
							return err
						})
					}
				}
			})
		}
		wg.Wait()
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("deadlock: concurrent transactions did not finish")
	}
}
