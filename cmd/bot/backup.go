package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/store"
)

func init() { subcommands["backup"] = backup }

// backup writes a consistent copy of the database to FILE.
//
// While the bot runs it holds the file's lock, so the copy is asked from the
// running bot: GET http://127.0.0.1:PORT/admin/backup (PORT from ADMIN_ADDR),
// which only answers loopback requests that carry a fresh token sealed with
// the bot's TOKEN_KEY (or key file). When nothing listens there, the file is
// opened directly (read-only, 1s lock timeout) and copied. Either way the
// copy is written to FILE.tmp (mode 0600), checked, fsynced and renamed.
func backup(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] == "" || args[0][0] == '-' {
		fmt.Fprintln(stderr, "usage: bot backup FILE")
		return 2
	}
	dest := args[0]
	dbPath := envOr(lookup, "DB_PATH", "soebot.db")
	if same(dest, dbPath) {
		fmt.Fprintln(stderr, "backup: FILE must not be the live database", dbPath)
		return 2
	}
	addr := envOr(lookup, "ADMIN_ADDR", "127.0.0.1:9090")
	tokenKey, _ := lookup("TOKEN_KEY")

	err := backupFromBot(ctx, addr, tokenKey, dbPath, dest)
	if errors.Is(err, errNoBot) {
		err = backupFromFile(dbPath, dest)
	}
	if err != nil {
		fmt.Fprintln(stderr, "backup:", err)
		return 1
	}
	fi, _ := os.Stat(dest)
	size := int64(0)
	if fi != nil {
		size = fi.Size()
	}
	fmt.Fprintf(stdout, "backup written to %s (%d bytes)\n", dest, size)
	return 0
}

var errNoBot = errors.New("no bot is listening")

func envOr(lookup func(string) (string, bool), k, def string) string {
	if v, ok := lookup(k); ok && v != "" {
		return v
	}
	return def
}

func same(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

func backupFromBot(ctx context.Context, addr, tokenKey, dbPath, dest string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("bad ADMIN_ADDR %q: %w", addr, err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		host = "127.0.0.1" // the backup endpoint only answers loopback
	}
	// The key is needed only to talk to a running bot.
	keys, kerr := app.LoadKeys(tokenKey, dbPath, false, nil)
	u := "http://" + net.JoinHostPort(host, port) + "/admin/backup"
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if kerr == nil {
		tok, err := app.AdminToken(keys, "backup", time.Now())
		if err != nil {
			return err
		}
		req.Header.Set("X-Soebot-Admin", tok)
	}
	c := &http.Client{Transport: &http.Transport{Proxy: nil, DialContext: (&net.Dialer{Timeout: 3 * time.Second}).DialContext}}
	resp, err := c.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return errNoBot
		}
		return fmt.Errorf("asking the running bot at %s: %w", u, err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusForbidden:
		if kerr != nil {
			return fmt.Errorf("the running bot refused the backup: %v", kerr)
		}
		return errors.New("the running bot refused the backup: run this on the bot's host with the bot's TOKEN_KEY and DB_PATH")
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%s answered 404: is that really soebot?", u)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%s answered HTTP %d", u, resp.StatusCode)
	}
	want, _ := strconv.ParseInt(resp.Header.Get("Content-Length"), 10, 64)
	return writeChecked(dest, func(w io.Writer) error {
		n, err := io.Copy(w, resp.Body)
		if err != nil {
			return fmt.Errorf("receiving the copy: %w", err)
		}
		if want <= 0 || n != want {
			return fmt.Errorf("the copy is truncated (%d of %d bytes)", n, want)
		}
		return nil
	})
}

func backupFromFile(dbPath, dest string) error {
	db, err := store.Open(dbPath, store.Options{ReadOnly: true, Timeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return fmt.Errorf("%w; the bot holds it but its admin server did not answer on ADMIN_ADDR (set ADMIN_ADDR as the bot has it)", err)
		}
		return err
	}
	defer db.Close()
	return writeChecked(dest, func(w io.Writer) error {
		_, err := db.Backup(w)
		return err
	})
}

// writeChecked writes dest atomically: dest.tmp (0600) is filled by fill,
// fsynced, verified as a bbolt file, renamed over dest and the directory fsynced.
func writeChecked(dest string, fill func(io.Writer) error) (err error) {
	tmp := dest + ".tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if err = fill(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	// The copy must open and pass bbolt's consistency check.
	db, err := store.Open(tmp, store.Options{ReadOnly: true, Timeout: time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("the copy does not open: %w", err)
	}
	err = db.Check()
	_ = db.Close()
	if err != nil {
		return fmt.Errorf("the copy is damaged: %w", err)
	}
	if err = os.Rename(tmp, dest); err != nil {
		return err
	}
	if d, derr := os.Open(filepath.Dir(dest)); derr == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
