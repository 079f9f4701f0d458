// Command bot runs soebot, the Stack Overflow Enterprise app for Slack.
//
//	bot                 run the bot (configuration from the environment; bot -h lists it)
//	bot backup FILE     write a consistent copy of the database while the bot runs
//	bot rotate-keys     re-encrypt stored tokens with the first key of TOKEN_KEY
//	bot healthcheck     probe the local /healthz (Docker's HEALTHCHECK)
//	bot subscriptions export   every subscription as CSV on stdout (read-only)
//
// The demo against built-in fakes is its own binary: go run ./cmd/demo.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/soebot/soebot/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usage heads bot -h, before the environment table.
const usage = `soebot: Stack Overflow Enterprise (or Stack Overflow for Teams Basic/Business) in Slack.
Basic/Business: SOE_URL=https://stackoverflowteams.com/c/<team>; people connect with a personal
access token; no SOE_CLIENT_ID.

Storage: the bbolt file at DB_PATH by default (one process, nothing to install); DATABASE_URL=postgres://…
selects PostgreSQL for 2–10 replicas on one database (TOKEN_KEY required, the same on every replica).

Usage:
  bot                 run the bot
  bot backup FILE     hot copy of the bbolt database (on PostgreSQL: use pg_dump)
  bot rotate-keys     re-encrypt tokens with the first TOKEN_KEY (on PostgreSQL while replicas run)
  bot migrate-store   copy the bbolt file at DB_PATH into DATABASE_URL (verified; safe to repeat)
  bot healthcheck     probe the local /healthz (exit 0 when healthy)
  bot subscriptions export
                      every subscription as CSV on stdout (DATABASE_URL, or DB_PATH read-only)

Environment:`

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	cmd, rest := "", args
	if len(args) > 0 {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "":
		return serve(ctx, lookup, stderr)
	case "backup":
		return backup(ctx, rest, lookup, stdout, stderr)
	case "rotate-keys":
		return rotateKeys(ctx, rest, lookup, stdout, stderr)
	case "migrate-store":
		return migrateStore(ctx, rest, lookup, stdout, stderr)
	case "healthcheck":
		return healthcheck(ctx, lookup, stdout, stderr)
	case "subscriptions":
		return exportSubscriptions(ctx, rest, lookup, stdout, stderr)
	case "-h", "-help", "--help", "help":
		return help(stdout, stderr)
	default:
		fmt.Fprintf(stderr, "bot: unknown command %q (try bot -h)\n", cmd)
		return 2
	}
}

func help(stdout, stderr io.Writer) int {
	fmt.Fprintln(stdout, usage)
	if err := app.Usage(stdout); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func serve(ctx context.Context, lookup func(string) (string, bool), stderr io.Writer) int {
	cfg, err := app.LoadConfig(lookup)
	if err != nil {
		fmt.Fprintln(stderr, "bot:", err)
		return 2
	}
	log := newLogger(cfg, stderr)
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		log.Error("cannot start", "err", err)
		return 1
	}
	if err := a.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("stopped with an error", "err", err)
		return 1
	}
	return 0
}

// exportSubscriptions is "bot subscriptions export" (app.ExportSubscriptions).
func exportSubscriptions(ctx context.Context, args []string, lookup func(string) (string, bool), stdout, stderr io.Writer) int {
	if len(args) != 1 || args[0] != "export" {
		fmt.Fprintln(stderr, "usage: bot subscriptions export   (DATABASE_URL or DB_PATH from the environment; CSV on stdout)")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	if err := app.ExportSubscriptions(ctx, envOr(lookup, "DATABASE_URL", ""), envOr(lookup, "DB_PATH", "soebot.db"), stdout, log); err != nil {
		fmt.Fprintln(stderr, "subscriptions export:", err)
		return 1
	}
	return 0
}

// envOr is the value of k, or def when k is unset or empty.
func envOr(lookup func(string) (string, bool), k, def string) string {
	if v, ok := lookup(k); ok && v != "" {
		return v
	}
	return def
}

func newLogger(cfg app.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}
