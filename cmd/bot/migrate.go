package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/store"
)

// migrateStore is "bot migrate-store": copy the bbolt file at DB_PATH into
// the PostgreSQL database at DATABASE_URL (app.MigrateStore).
func migrateStore(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	dbURL, _ := lookup("DATABASE_URL")
	if len(args) != 0 || dbURL == "" {
		fmt.Fprintln(stderr, "usage: bot migrate-store   (copies the bbolt file at DB_PATH into DATABASE_URL; stop the bbolt bot first)")
		return 2
	}
	dbPath := envOr(lookup, "DB_PATH", "soebot.db")
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	counts, err := app.MigrateStore(ctx, dbPath, dbURL, log)
	for _, c := range counts {
		fmt.Fprintf(stdout, "%-28s %6d keys copied, %6d in PostgreSQL\n", c.Bucket, c.Source, c.Destination)
	}
	if err != nil {
		fmt.Fprintln(stderr, "migrate-store:", err)
		if errors.Is(err, store.ErrLocked) {
			fmt.Fprintln(stderr, "Stop the bot that uses", dbPath, "first.")
		}
		return 1
	}
	fmt.Fprintln(stdout, "verified: every key of", dbPath, "is in PostgreSQL with the same value. Keep TOKEN_KEY: the tokens are still sealed with it.")
	return 0
}
