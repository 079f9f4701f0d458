package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"time"

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
	if err := db.ensureBuckets(ctx, opts.Buckets); err != nil {
		return err
	}
	return db.migrateData(ctx, opts.Migrations)
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

func (db *DB) ensureBuckets(ctx context.Context, buckets [][]byte) error {
	err := db.Update(ctx, func(tx store.Tx) error {
		meta, err := tx.CreateBucketIfNotExists([]byte(store.MetaBucket))
		if err != nil {
			return err
		}
		if meta.Get([]byte("created_at")) == nil {
			if err := meta.Put([]byte("created_at"), []byte(time.Now().UTC().Format(time.RFC3339Nano))); err != nil {
				return err
			}
		}
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: ensure buckets: %w", err)
	}
	return nil
}

func (db *DB) migrateData(ctx context.Context, ms []store.Migration) error {
	if len(ms) == 0 {
		return nil
	}
	last := ms[len(ms)-1].Version
	for _, m := range ms {
		applied := false
		err := db.Update(ctx, func(tx store.Tx) error {
			cur, err := schemaVersion(tx)
			switch {
			case err != nil:
				return err
			case cur > last:
				return fmt.Errorf("the stored data version is %d but this binary knows versions up to %d; run the newer soebot: %w",
					cur, last, store.ErrSchemaTooNew)
			case cur >= m.Version:
				return nil
			}
			if err := m.Up(tx); err != nil {
				return err
			}
			applied = true
			return recordMigration(tx, m)
		})
		if err != nil {
			return fmt.Errorf("pgstore: migration %d %q: %w", m.Version, m.Name, err)
		}
		if applied {
			db.log.Info("store migration applied", slog.Int("version", m.Version), slog.String("name", m.Name))
		}
	}
	return nil
}

func recordMigration(tx store.Tx, m store.Migration) error {
	meta := tx.Bucket([]byte(store.MetaBucket))
	if meta == nil {
		return fmt.Errorf("bucket %q: %w", store.MetaBucket, store.ErrBucketNotFound)
	}
	if err := meta.Put([]byte("schema_version"), []byte(strconv.Itoa(m.Version))); err != nil {
		return err
	}
	key := fmt.Sprintf("migration/%010d", m.Version)
	return meta.Put([]byte(key), []byte(m.Name+" "+time.Now().UTC().Format(time.RFC3339Nano)))
}

func schemaVersion(tx store.Tx) (int, error) {
	meta := tx.Bucket([]byte(store.MetaBucket))
	if meta == nil {
		return 0, nil
	}
	raw := meta.Get([]byte("schema_version"))
	if raw == nil {
		return 0, nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid schema_version %q: %w", raw, store.ErrCorrupt)
	}
	return n, nil
}

// SchemaVersion returns the version of the last data migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.View(ctx, func(tx store.Tx) error {
		var err error
		v, err = schemaVersion(tx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("pgstore: schema version: %w", err)
	}
	return v, nil
}

// Sweep deletes the keys of bucket for which expired is true, in batches of
// at most SweepBatch deletions (scanning at most ten times that) per write
// transaction, so the writer lock is never held long.
func (db *DB) Sweep(ctx context.Context, bucket []byte, expired func(k, v []byte) bool) (int, error) {
	if expired == nil {
		return 0, errors.New("pgstore: sweep: nil expired func")
	}
	total := 0
	var resume []byte
	for {
		var done bool
		var deleted int
		err := db.Update(ctx, func(tx store.Tx) error {
			var err error
			deleted, done, resume, err = db.sweepBatchTx(tx, bucket, resume, expired)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("pgstore: sweep %q: %w", bucket, err)
		}
		total += deleted
		if done {
			return total, nil
		}
	}
}

func (db *DB) sweepBatchTx(tx store.Tx, bucket, resume []byte, expired func(k, v []byte) bool) (int, bool, []byte, error) {
	b := tx.Bucket(bucket)
	if b == nil {
		return 0, true, resume, fmt.Errorf("bucket %q: %w", bucket, store.ErrBucketNotFound)
	}
	c := b.Cursor()
	k, v := c.First()
	if resume != nil {
		if k, v = c.Seek(resume); k != nil && string(k) == string(resume) {
			k, v = c.Next()
		}
	}
	var doomed [][]byte
	for scanned := 0; k != nil && len(doomed) < db.sweepBatch && scanned < db.sweepBatch*10; k, v = c.Next() {
		scanned++
		resume = append(resume[:0], k...)
		if expired(k, v) {
			doomed = append(doomed, append([]byte(nil), k...))
		}
	}
	for _, dk := range doomed {
		if err := b.Delete(dk); err != nil {
			return 0, false, resume, err
		}
	}
	return len(doomed), k == nil, resume, nil
}
