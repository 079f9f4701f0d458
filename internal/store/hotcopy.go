package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"go.etcd.io/bbolt"
)

// The hot copy ("bot backup FILE"). While the bot runs it holds the file's
// lock, so the copy is asked from the running bot: GET
// http://127.0.0.1:PORT/admin/backup (PORT from its ADMIN_ADDR), answered by
// ServeBackup. When nothing listens there, the file is opened directly
// (read-only, 1s lock timeout) and copied. Either way the copy is written to
// FILE.tmp (mode 0600), checked, fsynced and renamed.

var (
	// ErrNoServer means nothing listens at CopyOptions.Addr: no running bot
	// holds the file through its HTTP server.
	ErrNoServer = errors.New("no bot is listening")

	// ErrLiveFile means the copy was asked to replace the live database.
	ErrLiveFile = errors.New("the copy must not be the live database")
)

// BackupPath is where the running bot serves ServeBackup.
const BackupPath = "/admin/backup"

// CopyOptions say where Copy gets a consistent copy of the database.
type CopyOptions struct {
	// Path is the live database file (the bot's DB_PATH).
	Path string
	// Addr is the admin listen address of the bot that may hold Path (its
	// ADMIN_ADDR). Only its port matters: the request always goes to loopback.
	Addr string
	// Credentials are the request headers that prove the caller may have the
	// copy (the bot's admin token); nil when the caller has none, which is
	// enough when no bot runs.
	Credentials http.Header
	// NoCredentials says why Credentials is nil; it explains a refusal.
	NoCredentials error
}

// Copy writes a consistent, checked copy of the database at o.Path to dest,
// from the running bot when one answers at o.Addr, else from the file, and
// returns the copy's size. dest is replaced atomically, never the live file
// (ErrLiveFile).
func Copy(ctx context.Context, o CopyOptions, dest string) (int64, error) {
	if sameAbs(dest, o.Path) {
		return 0, fmt.Errorf("%w %s", ErrLiveFile, o.Path)
	}
	n, err := copyFromServer(ctx, o, dest)
	if errors.Is(err, ErrNoServer) {
		return copyFromFile(o.Path, dest)
	}
	return n, err
}

// sameAbs reports whether a and b name the same path.
func sameAbs(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// ServeBackup answers a backup request with a consistent copy of the database
// (in a read transaction, so writers are not blocked) and its exact
// Content-Length, so the client can tell a truncated copy. The caller
// authorizes the request first.
func (db *DB) ServeBackup(w http.ResponseWriter) error {
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Length", strconv.FormatInt(tx.Size(), 10))
		_, err := tx.WriteTo(w)
		return err
	})
	if err != nil {
		return fmt.Errorf("store: backup %s: %w", db.path, err)
	}
	return nil
}

// backupURL is the backup endpoint on loopback at addr's port: the endpoint
// answers only loopback requests, so another host is never asked.
func backupURL(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("bad ADMIN_ADDR %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + BackupPath, nil
}

// copyFromServer asks the running bot for the copy; ErrNoServer when no
// one listens.
func copyFromServer(ctx context.Context, o CopyOptions, dest string) (int64, error) {
	u, err := backupURL(o.Addr)
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	maps.Copy(req.Header, o.Credentials)
	// No proxy: the request must reach this host's loopback as it is.
	c := &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 3 * time.Second}).DialContext}}
	defer c.CloseIdleConnections()
	resp, err := c.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return 0, ErrNoServer
		}
		return 0, fmt.Errorf("asking the running bot at %s: %w", u, err)
	}
	defer func() { _ = resp.Body.Close() }() // read to the end or given up on: nothing to report
	if err := backupStatus(resp, u, o.NoCredentials); err != nil {
		return 0, err
	}
	want, _ := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	return writeChecked(dest, func(w io.Writer) (int64, error) {
		n, err := io.Copy(w, resp.Body)
		if err != nil {
			return n, fmt.Errorf("receiving the copy: %w", err)
		}
		if want <= 0 || n != want {
			return n, fmt.Errorf("the copy is truncated (%d of %d bytes)", n, want)
		}
		return n, nil
	})
}

// backupStatus turns the endpoint's answer into an error, or nil for 200.
func backupStatus(resp *http.Response, u string, noCredentials error) error {
	switch {
	case resp.StatusCode == http.StatusForbidden:
		if noCredentials != nil {
			return fmt.Errorf("the running bot refused the backup: %w", noCredentials)
		}
		return errors.New("the running bot refused the backup: run this on the bot's host with the bot's TOKEN_KEY and DB_PATH")
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s answered 404: is that really soebot?", u)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s answered HTTP %d", u, resp.StatusCode)
	}
	return nil
}

// copyFromFile copies the file directly, when no bot holds it.
func copyFromFile(path, dest string) (int64, error) {
	db, err := Open(path, Options{ReadOnly: true, Timeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return 0, fmt.Errorf("%w; the bot holds it but its admin server did not answer on ADMIN_ADDR (set ADMIN_ADDR as the bot has it)", err)
		}
		return 0, err
	}
	defer func() { _ = db.Close() }() // opened read-only: closing loses nothing
	return writeChecked(dest, db.Backup)
}

// writeChecked writes dest atomically: dest.tmp (0600) is filled by fill,
// fsynced, verified as a sound database, renamed over dest and the directory
// fsynced. It returns what fill wrote.
func writeChecked(dest string, fill func(io.Writer) (int64, error)) (n int64, err error) {
	tmp := dest + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return 0, err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if n, err = fill(f); err != nil {
		return n, err
	}
	if err = f.Sync(); err != nil {
		return n, err
	}
	if err = f.Close(); err != nil {
		return n, err
	}
	if err = checkFile(tmp); err != nil {
		return n, err
	}
	if err = os.Rename(tmp, dest); err != nil {
		return n, err
	}
	_ = syncDir(filepath.Dir(dest))
	return n, nil
}

// checkFile opens path read-only and runs the consistency check.
func checkFile(path string) error {
	db, err := Open(path, Options{ReadOnly: true, Timeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("the copy does not open: %w", err)
	}
	err = db.Check()
	_ = db.Close()
	if err != nil {
		return fmt.Errorf("the copy is damaged: %w", err)
	}
	return nil
}
