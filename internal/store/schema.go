package store

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"
)

// The schema steps every engine shares: the meta bucket, the owners'
// buckets and the data migrations, all through the Store interface, so that
// bbolt and PostgreSQL apply them the same way.

// EnsureBuckets creates the meta bucket (with the creation time) and
// buckets. It starts a write transaction only when something is missing, so
// opening an up-to-date store writes nothing.
func EnsureBuckets(ctx context.Context, s Store, buckets [][]byte) error {
	complete := true
	err := s.View(ctx, func(tx Tx) error {
		meta := tx.Bucket([]byte(MetaBucket))
		complete = meta != nil && meta.Get([]byte(keyCreatedAt)) != nil
		for _, b := range buckets {
			complete = complete && tx.Bucket(b) != nil
		}
		return nil
	})
	if err != nil || complete {
		return err
	}
	return s.Update(ctx, func(tx Tx) error {
		meta, err := tx.CreateBucketIfNotExists([]byte(MetaBucket))
		if err != nil {
			return fmt.Errorf("bucket %q: %w", MetaBucket, err)
		}
		if meta.Get([]byte(keyCreatedAt)) == nil {
			now := time.Now().UTC().Format(time.RFC3339Nano)
			if err := meta.Put([]byte(keyCreatedAt), []byte(now)); err != nil {
				return fmt.Errorf("created_at: %w", err)
			}
		}
		for _, b := range buckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("bucket %q: %w", b, err)
			}
		}
		return nil
	})
}

// Migrate applies every migration above the stored version, each in its own
// write transaction together with the new version. Each step re-reads the
// version inside its transaction, so replicas starting together on one
// database apply it once. A store migrated by a newer binary (stored version
// above the last of ms) is ErrSchemaTooNew, naming both versions.
func Migrate(ctx context.Context, s Store, ms []Migration, log *slog.Logger) error {
	if len(ms) == 0 {
		return nil
	}
	last := ms[len(ms)-1].Version
	var stored int
	err := s.View(ctx, func(tx Tx) error {
		var err error
		stored, err = SchemaVersionTx(tx)
		return err
	})
	switch {
	case err != nil:
		return err
	case stored > last:
		return fmt.Errorf("stored version %d, known up to %d: %w", stored, last, ErrSchemaTooNew)
	}
	for _, m := range ms {
		if m.Version <= stored {
			continue // applied before: no write transaction, so an up-to-date store is not written to
		}
		start := time.Now()
		applied := false
		err := s.Update(ctx, func(tx Tx) error {
			cur, err := SchemaVersionTx(tx)
			switch {
			case err != nil:
				return err
			case cur > last:
				return fmt.Errorf("stored version %d, known up to %d: %w", cur, last, ErrSchemaTooNew)
			case cur >= m.Version:
				return nil
			}
			if err := runUp(m, tx); err != nil {
				return err
			}
			applied = true
			return recordMigration(tx, m, start)
		})
		if err != nil {
			return fmt.Errorf("migration %d %q: %w", m.Version, m.Name, err)
		}
		if applied {
			log.Info("store migration applied", slog.Int("version", m.Version), slog.String("name", m.Name),
				slog.Duration("took", time.Since(start)))
		}
	}
	return nil
}

// SchemaVersionTx reads the stored schema version (0 if none was recorded).
func SchemaVersionTx(tx Tx) (int, error) {
	meta := tx.Bucket([]byte(MetaBucket))
	if meta == nil {
		return 0, nil
	}
	raw := meta.Get([]byte(keySchemaVersion))
	if raw == nil {
		return 0, nil
	}
	n, err := strconv.Atoi(string(raw))
	if err != nil || n < 0 {
		return 0, fmt.Errorf("invalid %s %q: %w", keySchemaVersion, raw, ErrCorrupt)
	}
	return n, nil
}

// runUp calls m.Up, turning a panic into an error so the transaction rolls
// back and Open reports the migration by name.
func runUp(m Migration, tx Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return m.Up(tx)
}

func recordMigration(tx Tx, m Migration, at time.Time) error {
	meta := tx.Bucket([]byte(MetaBucket))
	if meta == nil {
		return fmt.Errorf("bucket %q: %w", MetaBucket, ErrBucketNotFound)
	}
	if err := meta.Put([]byte(keySchemaVersion), []byte(strconv.Itoa(m.Version))); err != nil {
		return err
	}
	key := fmt.Sprintf("%s%010d", migrationPrefix, m.Version)
	val := m.Name + " " + at.UTC().Format(time.RFC3339Nano)
	return meta.Put([]byte(key), []byte(val))
}
