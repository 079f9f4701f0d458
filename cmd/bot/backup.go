package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/store"
)

// backup is "bot backup FILE": a consistent copy of the database at DB_PATH,
// asked from the bot's admin listener at ADMIN_ADDR (with a token sealed with its
// TOKEN_KEY or key file), else copied from the file (store.Copy).
func backup(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] == "" || args[0][0] == '-' {
		fmt.Fprintln(stderr, "usage: bot backup FILE")
		return 2
	}
	if u, _ := lookup("DATABASE_URL"); u != "" {
		fmt.Fprintln(stderr, pgBackupHelp)
		return 2
	}
	dest := args[0]
	dbPath := envOr(lookup, "DB_PATH", "soebot.db")
	tokenKey, _ := lookup("TOKEN_KEY")
	o := store.CopyOptions{Path: dbPath, Addr: envOr(lookup, "ADMIN_ADDR", "127.0.0.1:9090")}
	// The key is needed only to talk to a running bot.
	if keys, err := app.LoadKeys(tokenKey, dbPath, false, nil); err != nil {
		o.NoCredentials = err
	} else if o.Credentials, err = app.AdminCredentials(keys, "backup", time.Now()); err != nil {
		fmt.Fprintln(stderr, "backup:", err)
		return 1
	}
	n, err := store.Copy(ctx, o, dest)
	if err != nil {
		fmt.Fprintln(stderr, "backup:", err)
		if errors.Is(err, store.ErrLiveFile) {
			return 2
		}
		return 1
	}
	fmt.Fprintf(stdout, "backup written to %s (%d bytes)\n", dest, n)
	return 0
}

const pgBackupHelp = `backup: DATABASE_URL is set, so soebot keeps its state in PostgreSQL, and pg_dump is the backup:

    pg_dump --format=custom --file=soebot.dump "$DATABASE_URL"

restore it with pg_restore --clean --dbname="$DATABASE_URL" soebot.dump. Tokens in it stay encrypted with TOKEN_KEY;
keep the key out of the dump's storage.`
