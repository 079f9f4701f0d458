package store

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestBackupURL(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{":8080", "http://127.0.0.1:8080/admin/backup"},
		{"0.0.0.0:80", "http://127.0.0.1:80/admin/backup"},
		{"[::]:80", "http://127.0.0.1:80/admin/backup"},
		{"127.0.0.2:81", "http://127.0.0.2:81/admin/backup"},
		{"[::1]:82", "http://[::1]:82/admin/backup"},
		{"localhost:83", "http://localhost:83/admin/backup"},
		// The endpoint answers only loopback: another host is never asked.
		{"10.1.2.3:8080", "http://127.0.0.1:8080/admin/backup"},
		{"bot.example.com:8080", "http://127.0.0.1:8080/admin/backup"},
	} {
		if got, err := backupURL(tc.addr); err != nil || got != tc.want {
			t.Errorf("backupURL(%q) = %q, %v; want %q", tc.addr, got, err, tc.want)
		}
	}
	if _, err := backupURL("8080"); err == nil || !strings.Contains(err.Error(), "bad ADMIN_ADDR") {
		t.Errorf("backupURL(8080) = %v", err)
	}
}

// liveDB is a database with 3000 keys in bucket a, held open as the bot does.
func liveDB(t *testing.T) *DB {
	t.Helper()
	path := tempPath(t)
	makeDB(t, path)
	return mustOpen(t, path, Options{Buckets: [][]byte{bucketA}})
}

// freeAddr is a loopback address nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := new(net.ListenConfig).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}

// serve runs h on loopback and returns its address.
func serve(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func keyCount(t *testing.T, path string) int {
	t.Helper()
	db := mustOpen(t, path, Options{ReadOnly: true, Timeout: time.Second})
	n := 0
	_ = db.View(context.Background(), func(tx Tx) error {
		n = tx.Bucket(bucketA).Len()
		return nil
	})
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return n
}

// A copy from a running server: the credentials reach it, and the copy is a
// sound database with every key, mode 0600, replacing a stale temp file.
func TestCopyFromServer(t *testing.T) {
	db := liveDB(t)
	addr := serve(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != BackupPath || r.Header.Get("X-Test-Admin") != "secret" {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		if err := db.ServeBackup(w); err != nil {
			t.Error(err)
		}
	})
	dest := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(dest+".tmp", []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	o := CopyOptions{Path: db.Path(), Addr: addr, Credentials: http.Header{"X-Test-Admin": {"secret"}}}
	n, err := Copy(context.Background(), o, dest)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dest)
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != n {
		t.Fatalf("stat = %v, %v; Copy said %d bytes", fi, err, n)
	}
	if _, err := os.Stat(dest + ".tmp"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("temp file left: %v", err)
	}
	if got := keyCount(t, dest); got != 3000 {
		t.Errorf("copy has %d keys, want 3000", got)
	}
}

// Every bad answer of the server is an error, and leaves neither the copy nor
// its temp file behind.
func TestCopyFromServerFailures(t *testing.T) {
	noKey := errors.New("TOKEN_KEY is not set")
	notADB := bytes.Repeat([]byte("x"), 8192)
	damaged := makeDB(t, tempPath(t))
	damageLeaf(t, damaged)
	withLength := func(body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
			_, _ = w.Write(body)
		}
	}
	for _, tc := range []struct {
		name   string
		noCred error
		h      http.HandlerFunc
		want   string
	}{
		{"refused, no key", noKey, status(http.StatusForbidden), "refused the backup: TOKEN_KEY is not set"},
		{"refused, wrong key", nil, status(http.StatusForbidden), "run this on the bot's host"},
		{"not soebot", nil, status(http.StatusNotFound), "is that really soebot?"},
		{"server error", nil, status(http.StatusInternalServerError), "answered HTTP 500"},
		{"no length", nil, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write(notADB)
			w.(http.Flusher).Flush()
		}, "truncated (8192 of 0 bytes)"},
		{"short body", nil, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Length", "100000")
			_, _ = w.Write(notADB)
		}, "receiving the copy"},
		{"not a database", nil, withLength(notADB), "the copy does not open"},
		{"damaged", nil, withLength(damaged), "the copy is damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "copy.db")
			o := CopyOptions{Path: filepath.Join(dir, "live.db"), Addr: serve(t, tc.h), NoCredentials: tc.noCred}
			_, err := Copy(context.Background(), o, dest)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Copy = %v, want %q", err, tc.want)
			}
			if tc.noCred != nil && !errors.Is(err, tc.noCred) {
				t.Errorf("%v does not wrap %v", err, tc.noCred)
			}
			if names := dirListing(t, dir); len(names) != 0 {
				t.Errorf("left behind: %v", names)
			}
		})
	}
}

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) { http.Error(w, http.StatusText(code), code) }
}

// With no server listening the file is copied directly.
func TestCopyWithoutServerCopiesTheFile(t *testing.T) {
	path := tempPath(t)
	makeDB(t, path)
	dest := filepath.Join(t.TempDir(), "copy.db")
	n, err := Copy(context.Background(), CopyOptions{Path: path, Addr: freeAddr(t)}, dest)
	if err != nil || n == 0 {
		t.Fatalf("Copy = %d, %v", n, err)
	}
	if got := keyCount(t, dest); got != 3000 {
		t.Errorf("copy has %d keys, want 3000", got)
	}
}

// A file held by a bot whose HTTP server is elsewhere: locked, with a hint.
func TestCopyLockedFileNamesHTTPAddr(t *testing.T) {
	db := liveDB(t)
	dest := filepath.Join(t.TempDir(), "copy.db")
	_, err := Copy(context.Background(), CopyOptions{Path: db.Path(), Addr: freeAddr(t)}, dest)
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "set ADMIN_ADDR as the bot has it") {
		t.Fatalf("Copy = %v, want ErrLocked naming ADMIN_ADDR", err)
	}
	if _, err := os.Stat(dest); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("dest exists: %v", err)
	}
}

func TestCopyRefusesLiveFile(t *testing.T) {
	path := tempPath(t)
	before := makeDB(t, path)
	for _, dest := range []string{path, filepath.Join(filepath.Dir(path), ".", filepath.Base(path))} {
		if _, err := Copy(context.Background(), CopyOptions{Path: path, Addr: freeAddr(t)}, dest); !errors.Is(err, ErrLiveFile) {
			t.Errorf("Copy to %q = %v, want ErrLiveFile", dest, err)
		}
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("live file changed")
	}
}
