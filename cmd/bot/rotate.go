package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// rotateKeys re-encrypts every stored SOE token with the first key of
// TOKEN_KEY (or the key file when TOKEN_KEY is unset). It needs the database
// for itself: stop the bot first (a running bot makes it fail at once with
// "database is locked"). With DATABASE_URL it works on PostgreSQL while the
// replicas run, once every replica has TOKEN_KEY=new,old. Afterwards the old
// keys can be dropped from TOKEN_KEY.
func rotateKeys(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) != 0 {
		fmt.Fprintln(stderr, "usage: bot rotate-keys   (TOKEN_KEY=new,old… and DB_PATH or DATABASE_URL from the environment; on bbolt stop the bot first)")
		return 2
	}
	dbPath := envOr(lookup, "DB_PATH", "soebot.db")
	dbURL, _ := lookup("DATABASE_URL")
	tokenKey, _ := lookup("TOKEN_KEY")
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if dbURL != "" && tokenKey == "" {
		fmt.Fprintln(stderr, "rotate-keys: DATABASE_URL needs TOKEN_KEY (new key first, then the old ones, as on every replica)")
		return 2
	}
	keys, err := app.LoadKeys(tokenKey, dbPath, false, log)
	if err != nil {
		fmt.Fprintln(stderr, "rotate-keys:", err)
		return 2
	}
	// On PostgreSQL this runs while the replicas run (each batch is one
	// short write transaction), provided every replica has both keys.
	db, err := app.OpenStorage(ctx, dbURL, dbPath, log)
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			fmt.Fprintln(stderr, "rotate-keys:", err, "\nStop the bot first: rotate-keys needs the database for itself.")
		} else {
			fmt.Fprintln(stderr, "rotate-keys:", err)
		}
		return 1
	}
	defer func() { _ = db.Close() }() // each batch was committed in its own transaction: closing loses nothing
	svc, err := linking.New(linking.Config{}, db, keys, soe.OAuthConfig{}, nil, nil, log)
	if err != nil {
		fmt.Fprintln(stderr, "rotate-keys:", err)
		return 1
	}
	n, err := svc.RotateKeys(ctx)
	fmt.Fprintf(stdout, "re-encrypted %d token(s) with key %s\n", n, keys.CurrentKeyID())
	if err != nil {
		fmt.Fprintln(stderr, "rotate-keys:", err)
		return 1
	}
	if keys.Len() > 1 {
		fmt.Fprintln(stdout, "Every token now uses the first key; you can remove the other keys from TOKEN_KEY.")
	}
	return 0
}
