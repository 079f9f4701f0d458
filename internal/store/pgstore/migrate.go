package pgstore

import (
	"context"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/soebot/soebot/internal/store"
)

// gooseTable records the SQL schema's versions (goose's own table).
const gooseTable = "soebot_schema_migrations"

// migrate brings the database up to this binary: first the SQL schema
// (embedded goose migrations, under a session advisory lock: one replica
// migrates, the others wait for it), then the buckets and the data
// migrations that the bbolt engine runs too. Each data step runs in one write
// transaction that re-reads the stored version, so replicas starting together
// apply it once.
func (db *DB) migrate(ctx context.Context, opts store.Options) error {
	if err := db.migrateSchema(ctx); err != nil {
		return err
	}
	if err := store.EnsureBuckets(ctx, db, opts.Buckets); err != nil {
		return fmt.Errorf("pgstore: ensure buckets: %w", err)
	}
	if err := store.Migrate(ctx, db, opts.Migrations, db.log); err != nil {
		return fmt.Errorf("pgstore: %w", err)
	}
	return nil
}

func (db *DB) migrateSchema(ctx context.Context) error {
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	defer func() { _ = sqlDB.Close() }()
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(migrationLock), lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	files, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, files,
		goose.WithSessionLocker(locker), goose.WithTableName(gooseTable), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if err := schemaNotNewer(ctx, p); err != nil {
		return err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate schema: %w", unavailable(err))
	}
	for _, r := range res {
		db.log.Info("database schema migrated", "version", r.Source.Version, "file", r.Source.Path, "took", r.Duration)
	}
	return nil
}

// schemaNotNewer stops a binary older than the database's schema.
func schemaNotNewer(ctx context.Context, p *goose.Provider) error {
	cur, err := p.GetDBVersion(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: read schema version: %w", unavailable(err))
	}
	srcs := p.ListSources()
	known := srcs[len(srcs)-1].Version
	if cur > known {
		return fmt.Errorf("pgstore: the database schema is at version %d but this binary knows versions up to %d; run the newer soebot, or restore a backup taken before it: %w",
			cur, known, store.ErrSchemaTooNew)
	}
	return nil
}

// SchemaVersion returns the version of the last data migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.View(ctx, func(tx store.Tx) error {
		var err error
		v, err = store.SchemaVersionTx(tx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: schema version: %w", err)
	}
	return v, nil
}

// Sweep deletes the keys of bucket for which expired is true, in batches of
// SweepBatch deletions per write transaction (store.SweepStore).
func (db *DB) Sweep(ctx context.Context, bucket []byte, expired func(k, v []byte) bool) (int, error) {
	return store.SweepStore(ctx, db, db.sweepBatch, bucket, expired)
}
