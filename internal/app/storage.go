package app

import (
	"context"
	"slices"

	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/channels"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/store/pgstore"
	"github.com/soebot/soebot/internal/vault"
)

// StoreOptions lists every bucket and schema migration of the product. Every
// feature that keeps data adds its buckets here and its migrations (with the
// next version numbers) to migrations, so the bot and the offline tools (bot
// rotate-keys, bot backup) open the file the same way.
func StoreOptions(log *slog.Logger) store.Options {
	return store.Options{
		Timeout:    time.Second,
		Buckets:    slices.Concat(linking.Buckets(), notify.Buckets(), channels.Buckets()),
		Migrations: migrations(),
		Logger:     log,
	}
}

// OpenStorage opens the configured engine with StoreOptions: PostgreSQL when
// DATABASE_URL is set (migrating it under an advisory lock), else the bbolt
// file at DB_PATH.
func OpenStorage(ctx context.Context, cfg Config, log *slog.Logger) (store.Store, error) {
	if cfg.DatabaseURL != "" {
		opts := StoreOptions(log)
		opts.Timeout = 30 * time.Second
		return pgstore.Open(ctx, cfg.DatabaseURL, opts)
	}
	return OpenStore(cfg.DBPath, log)
}

// OpenStore opens the database at path with StoreOptions.
func OpenStore(path string, log *slog.Logger) (*store.DB, error) {
	return store.Open(path, StoreOptions(log))
}

// KeyFilePath is where the token key lives when TOKEN_KEY is unset.
func KeyFilePath(dbPath string) string { return dbPath + ".key" }

// LoadKeys returns the token keyring: from tokenKey (TOKEN_KEY) when set,
// else from the key file next to the database. With create, a missing key
// file is created (first start) and a warning names it; without, a missing
// file is an error (offline tools must not invent a key).
func LoadKeys(tokenKey, dbPath string, create bool, log *slog.Logger) (*vault.Keyring, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if strings.TrimSpace(tokenKey) != "" {
		k, err := vault.ParseKeys(tokenKey)
		if err != nil {
			return nil, fmt.Errorf("TOKEN_KEY: %w", err)
		}
		return k, nil
	}
	path := KeyFilePath(dbPath)
	if !create {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("TOKEN_KEY is not set and there is no key file %s", path)
		}
	}
	k, created, err := vault.LoadOrCreateKeyFile(path)
	if err != nil {
		return nil, fmt.Errorf("token key file %s: %w", path, err)
	}
	if create {
		log.Warn("TOKEN_KEY is not set: SOE tokens are encrypted with a key kept in a file next to the database. "+
			"Anyone who can read both files can read the tokens. Set TOKEN_KEY to the file's content (a base64 key) "+
			"from your secret store instead, and keep the key out of database backups.",
			"key_file", path, "created", created)
	}
	return k, nil
}

// Admin requests (GET /admin/backup) must come from loopback, without proxy
// headers, and carry X-Soebot-Admin: a fresh token sealed with TOKEN_KEY, which
// proves the caller holds the bot's key (bot backup does this).
const (
	adminHeader = "X-Soebot-Admin"
	adminMaxAge = 2 * time.Minute
)

func adminAAD(purpose string) []byte { return []byte("soebot/admin/v1|" + purpose) }

// AdminToken makes an X-Soebot-Admin value for purpose ("backup"), valid for
// two minutes.
func AdminToken(keys *vault.Keyring, purpose string, now time.Time) (string, error) {
	sealed, err := keys.Seal([]byte(strconv.FormatInt(now.Unix(), 10)), adminAAD(purpose))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// AdminCredentials returns the request header carrying AdminToken, for a
// client of the admin endpoints (store.CopyOptions.Credentials).
func AdminCredentials(keys *vault.Keyring, purpose string, now time.Time) (http.Header, error) {
	tok, err := AdminToken(keys, purpose, now)
	if err != nil {
		return nil, err
	}
	h := http.Header{}
	h.Set(adminHeader, tok)
	return h, nil
}

func adminTokenOK(keys *vault.Keyring, purpose, tok string, now time.Time) bool {
	if tok == "" || len(tok) > 512 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return false
	}
	plain, err := keys.Open(raw, adminAAD(purpose))
	if err != nil {
		return false
	}
	sec, err := strconv.ParseInt(string(plain), 10, 64)
	if err != nil {
		return false
	}
	d := now.Sub(time.Unix(sec, 0))
	return d > -adminMaxAge && d < adminMaxAge
}

// fromLoopback reports whether r came straight from this host (not through a
// proxy that forwards outside traffic from 127.0.0.1).
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return false
	}
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "Forwarded", "X-Real-Ip"} {
		if r.Header.Get(h) != "" {
			return false
		}
	}
	return true
}

// serveBackup answers GET /admin/backup with store.ServeBackup: a
// consistent copy of the database with its exact Content-Length.
func (a *App) serveBackup(w http.ResponseWriter, r *http.Request) {
	if !fromLoopback(r) || !adminTokenOK(a.keys, "backup", r.Header.Get(adminHeader), time.Now()) {
		a.log.Warn("backup request refused", "remote", r.RemoteAddr)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	bolt, ok := a.db.(*store.DB)
	if !ok {
		http.Error(w, "this bot keeps its state in PostgreSQL: back it up with pg_dump", http.StatusNotImplemented)
		return
	}
	if err := bolt.ServeBackup(w); err != nil {
		a.log.Error("backup failed", "err", err)
		return
	}
	a.log.Info("backup served")
}
