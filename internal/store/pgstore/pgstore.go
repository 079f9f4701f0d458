// Package pgstore is the PostgreSQL engine of store.Store, for running
// several replicas of soebot on one database (DATABASE_URL).
//
// It keeps bbolt's model so every owner of data works unchanged on either
// engine: ordered byte keys in named buckets (two tables, soebot_buckets and
// soebot_kv, created by embedded goose migrations), one writer at a time
// across the whole cluster (each write transaction starts with
// pg_advisory_xact_lock on one key, so a read-modify-write in Update is as
// safe as in bbolt, with no retries and no lost updates), and readers on a
// REPEATABLE READ snapshot. Transactions are short and do no network I/O
// besides the database, so one cluster-wide writer is not a bottleneck at the
// scale of a chat integration (see docs/benchmarks.md).
package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/soebot/soebot/internal/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// writerLock is the advisory lock key every write transaction takes
// (pg_advisory_xact_lock), and migrationLock the session lock held while the
// schema is migrated. Both are arbitrary constants ("soebot" in ASCII).
const (
	writerLock    int64 = 0x736f65626f74
	migrationLock int64 = 0x736f65626f75
)

const defaultSweepBatch = 1000

// DB is an open PostgreSQL store. It is safe for concurrent use.
type DB struct {
	pool       *pgxpool.Pool
	log        *slog.Logger
	sweepBatch int
}

var _ store.Store = (*DB)(nil)

// Open connects to url, migrates the schema (one replica at a time, under an
// advisory lock; the others wait) and applies opts.Buckets and
// opts.Migrations like store.Open. opts.Timeout bounds the first connection
// (default 10s); ReadOnly and Verify are bbolt-only and ignored.
func Open(ctx context.Context, url string, opts store.Options) (*DB, error) {
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("pgstore: DATABASE_URL: %w", redact(err))
	}
	timeout := opts.Timeout
	if timeout < 10*time.Second {
		timeout = 10 * time.Second
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(cctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect: %w", unavailable(err))
	}
	if err := pool.Ping(cctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: connect %s: %w", describe(cfg), unavailable(err))
	}
	db := &DB{pool: pool, log: log, sweepBatch: opts.SweepBatch}
	if db.sweepBatch <= 0 {
		db.sweepBatch = defaultSweepBatch
	}
	if err := db.migrate(ctx, opts); err != nil {
		pool.Close()
		return nil, err
	}
	log.Info("store opened", "engine", "postgres", "database", describe(cfg))
	return db, nil
}

// describe names the database without its password.
func describe(cfg *pgxpool.Config) string {
	return fmt.Sprintf("%s@%s:%d/%s", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
}

// Engine is "postgres".
func (db *DB) Engine() string { return "postgres" }

// Close closes every connection.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// Ping reports whether a connection can be made and used now.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pgstore: ping: %w", unavailable(err))
	}
	return nil
}

// Update runs fn in a write transaction that holds the cluster-wide writer
// lock. It commits when fn returns nil and no read failed.
func (db *DB) Update(ctx context.Context, fn func(tx store.Tx) error) error {
	return db.run(ctx, true, fn)
}

// View runs fn in a read-only REPEATABLE READ transaction (one snapshot).
func (db *DB) View(ctx context.Context, fn func(tx store.Tx) error) error {
	return db.run(ctx, false, fn)
}

func (db *DB) run(ctx context.Context, write bool, fn func(tx store.Tx) error) error {
	opts := pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}
	if write {
		// Read committed after the lock: every statement sees what the
		// previous writer committed, as in bbolt.
		opts = pgx.TxOptions{IsoLevel: pgx.ReadCommitted, AccessMode: pgx.ReadWrite}
	}
	ptx, err := db.pool.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("pgstore: begin: %w", unavailable(err))
	}
	t := &tx{ctx: ctx, tx: ptx, write: write, buckets: map[string]bool{}}
	// After a commit this is a no-op; after an error or a panic in fn (which
	// goes on up, as in bbolt) it releases the connection and the lock.
	defer func() { _ = ptx.Rollback(context.WithoutCancel(ctx)) }()
	if write {
		if _, err := ptx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", writerLock); err != nil {
			return fmt.Errorf("pgstore: writer lock: %w", unavailable(err))
		}
	}
	if err := fn(t); err != nil {
		return errors.Join(err, t.err)
	}
	if t.err != nil {
		return fmt.Errorf("pgstore: %w", t.err)
	}
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: commit: %w", unavailable(err))
	}
	return nil
}
