package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/store"
)

// ErrExportLocked means the database is in use by a running bot: export
// from a copy (bot backup FILE, then DB_PATH=FILE).
var ErrExportLocked = errors.New("the database is in use by the running bot; export from a copy: bot backup /tmp/soebot-copy.db, then DB_PATH=/tmp/soebot-copy.db bot subscriptions export")

// ExportSubscriptions writes every subscription of every workspace as CSV
// (notify.WriteAuditCSV) to w, from PostgreSQL when databaseURL is set (the
// bots may keep running), else from the bbolt file at dbPath, opened
// read-only. It changes nothing.
func ExportSubscriptions(ctx context.Context, databaseURL, dbPath string, w io.Writer, log *slog.Logger) error {
	var db store.Store
	var err error
	if databaseURL != "" {
		db, err = OpenStorage(ctx, databaseURL, "", log)
	} else {
		opts := StoreOptions(log)
		opts.ReadOnly = true
		db, err = store.Open(dbPath, opts)
	}
	if errors.Is(err, store.ErrLocked) {
		return fmt.Errorf("%w (%w)", ErrExportLocked, err)
	}
	if err != nil {
		return err
	}
	defer func() { _ = db.Close() }()
	entries, err := notify.AuditDB(ctx, db, "")
	if err != nil {
		return err
	}
	return notify.WriteAuditCSV(w, entries)
}
