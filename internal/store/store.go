// Package store owns the single bbolt file that every soebot package shares.
//
// The file holds one process at a time (bbolt takes an exclusive flock), so
// Open always uses a lock timeout and fails fast with ErrLocked instead of
// hanging. A file that cannot be read is reported as ErrCorrupt and is never
// replaced, renamed or re-initialised: recovering it is an operator decision
// (restore a backup, or "bbolt surgery revert-meta-page").
//
// Owners of data pass their top-level bucket names in Options.Buckets and
// their schema changes in Options.Migrations. The "meta" bucket is reserved
// for this package.
package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"syscall"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

var (
	// ErrLocked means another process (or another open handle in this
	// process) holds the database file. Open returns an error wrapping it,
	// naming the path, once Options.Timeout has passed.
	ErrLocked = errors.New("database is locked by another process")

	// ErrCorrupt means the database file exists but cannot be read as a
	// valid bbolt database. The file is left untouched.
	ErrCorrupt = errors.New("database file is corrupt or unreadable")

	// ErrSchemaTooNew means the file was migrated by a newer binary: its
	// stored schema version is above the last migration this binary knows.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")

	// ErrBucketNotFound is bbolt's error, re-exported for callers of the
	// helpers in this package (PutJSON, GetJSON, Sweep).
	ErrBucketNotFound = berrors.ErrBucketNotFound
)

// MetaBucket is the name of the reserved top-level bucket holding the schema
// version ("schema_version", decimal), the creation time ("created_at",
// RFC 3339) and the migration log ("migration/<version>"). Use
// []byte(MetaBucket) to read it.
const MetaBucket = "meta"

const (
	keySchemaVersion = "schema_version"
	keyCreatedAt     = "created_at"
	migrationPrefix  = "migration/"

	defaultTimeout    = time.Second
	defaultSweepBatch = 1000
	fileMode          = 0o600
)

// Migration is one schema step. Up runs in its own read-write transaction
// together with the update of the stored schema version, so a failing step
// leaves the database at the previous version.
type Migration struct {
	Version int
	Name    string
	Up      func(tx Tx) error
}

// Options configures Open.
type Options struct {
	// Timeout bounds the wait for the file lock. Zero or negative means the
	// default of 1s; Open never waits indefinitely.
	Timeout time.Duration
	// Buckets are top-level buckets created if missing. They are ensured
	// before migrations run, so a migration can rely on them existing.
	Buckets [][]byte
	// Migrations are applied in order for every Version above the stored
	// schema version, each in its own transaction. Versions must be positive
	// and strictly increasing.
	Migrations []Migration
	// Logger receives open/migration events. Nil discards them.
	Logger *slog.Logger
	// ReadOnly opens the file with a shared lock. Buckets are not created and
	// migrations are not run; Open fails if migrations are pending.
	ReadOnly bool

	// Verify runs Check after opening and fails with ErrCorrupt if it finds
	// a problem. It reads the whole file, so it is off by default.
	Verify bool
	// SweepBatch is the maximum number of keys Sweep deletes in one
	// transaction (it also scans at most 10x this many). Default 1000.
	SweepBatch int
}

// DB is an open store. It is safe for concurrent use.
type DB struct {
	bolt       *bbolt.DB
	path       string
	log        *slog.Logger
	readOnly   bool
	sweepBatch int
}

// Open opens (creating if needed, with mode 0600) the bbolt file at path.
func Open(path string, opts Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("store: open: empty path")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	sweepBatch := opts.SweepBatch
	if sweepBatch <= 0 {
		sweepBatch = defaultSweepBatch
	}
	if err := validateMigrations(opts.Migrations); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := preflight(path, opts.ReadOnly, log); err != nil {
		return nil, err
	}

	bdb, err := openBolt(path, timeout, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	db := &DB{bolt: bdb, path: path, log: log, readOnly: opts.ReadOnly, sweepBatch: sweepBatch}

	if err := db.init(opts); err != nil {
		_ = bdb.Close()
		return nil, err
	}
	log.Info("store opened", slog.String("path", path), slog.Bool("read_only", opts.ReadOnly))
	return db, nil
}

// preflight gives clear errors for the cases bbolt reports badly or handles
// dangerously, before bbolt touches the file.
func preflight(path string, readOnly bool, log *slog.Logger) error {
	dir := filepath.Dir(path)
	di, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("store: open %s: directory %s does not exist: %w", path, dir, err)
	case err != nil:
		return fmt.Errorf("store: open %s: %w", path, err)
	case !di.IsDir():
		return fmt.Errorf("store: open %s: %s is not a directory", path, dir)
	}

	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if readOnly {
			return fmt.Errorf("store: open %s read-only: %w", path, err)
		}
		return nil // bbolt creates it with mode 0600
	case err != nil:
		return fmt.Errorf("store: open %s: %w", path, err)
	case !fi.Mode().IsRegular():
		return fmt.Errorf("store: open %s: not a regular file (%s)", path, fi.Mode().Type())
	case fi.Size() == 0:
		// bbolt would silently initialise an existing empty file. An empty
		// file where a database is expected means data was lost; make the
		// operator look at it instead of starting with no links.
		return fmt.Errorf("store: open %s: existing file is empty (remove it to start a new database): %w", path, ErrCorrupt)
	}

	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if readOnly {
			log.Warn("store file is accessible by group/other", slog.String("path", path), slog.String("mode", perm.String()))
			return nil
		}
		if err := os.Chmod(path, fileMode); err != nil {
			return fmt.Errorf("store: open %s: mode %04o is accessible by group/other and chmod 0600 failed: %w", path, perm, err)
		}
		log.Warn("store file was accessible by group/other; changed mode to 0600",
			slog.String("path", path), slog.String("old_mode", perm.String()))
	}
	return nil
}

// openBolt calls bbolt.Open, turning lock timeouts into ErrLocked and invalid
// files, errors and panics (including memory faults on a truncated mmap) into
// ErrCorrupt.
func openBolt(path string, timeout time.Duration, readOnly bool) (bdb *bbolt.DB, err error) {
	// Capture the *os.File so a panic inside bbolt.Open does not leak the
	// descriptor and, with it, the flock.
	var file *os.File
	bopts := &bbolt.Options{
		Timeout:      timeout,
		ReadOnly:     readOnly,
		FreelistType: bbolt.FreelistMapType,
		OpenFile: func(name string, flag int, perm os.FileMode) (*os.File, error) {
			f, err := os.OpenFile(name, flag, perm)
			file = f
			return f, err
		},
	}

	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if file != nil {
				// The mmap (unreachable now) would keep the open file
				// description, and so the lock, alive: unlock explicitly.
				_ = unlockFile(file)
				_ = file.Close()
			}
			bdb = nil
			err = fmt.Errorf("store: open %s: bbolt panicked: %v: %w", path, r, ErrCorrupt)
		}
	}()

	bdb, err = bbolt.Open(path, fileMode, bopts)
	if err != nil {
		return nil, classifyOpenErr(path, timeout, err)
	}
	if err := sanityCheck(bdb); err != nil {
		_ = bdb.Close()
		return nil, fmt.Errorf("store: open %s: %w: %w", path, err, ErrCorrupt)
	}
	return bdb, nil
}

func classifyOpenErr(path string, timeout time.Duration, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("store: open %s: %w (waited %s): %w", path, ErrLocked, timeout, err)
	case isOSError(err):
		// Permissions, I/O errors, mmap failures: the file may be fine.
		return fmt.Errorf("store: open %s: %w", path, err)
	default:
		// Everything else bbolt reports while reading an existing,
		// non-empty file is about its content: ErrInvalid, ErrChecksum,
		// ErrVersionMismatch, "file size too small", ...
		return fmt.Errorf("store: open %s: %w: %w", path, ErrCorrupt, err)
	}
}

// sanityCheck catches a truncated file whose meta pages are intact: bbolt
// does not compare the high-water mark with the file size, and reading a page
// past the end of the file would fault later, outside any recover.
func sanityCheck(bdb *bbolt.DB) error {
	fi, err := os.Stat(bdb.Path())
	if err != nil {
		return err
	}
	return bdb.View(func(tx *bbolt.Tx) error {
		if need := tx.Size(); need > fi.Size() {
			return fmt.Errorf("file is %d bytes but its meta page needs %d (truncated?)", fi.Size(), need)
		}
		return nil
	})
}

func isOSError(err error) bool {
	var pe *fs.PathError
	var errno syscall.Errno
	return errors.As(err, &pe) || errors.As(err, &errno)
}

func validateMigrations(ms []Migration) error {
	prev := 0
	for i, m := range ms {
		switch {
		case m.Version <= prev:
			return fmt.Errorf("migration %d (%q): version %d must be positive and above %d", i, m.Name, m.Version, prev)
		case m.Name == "":
			return fmt.Errorf("migration %d (version %d): empty name", i, m.Version)
		case m.Up == nil:
			return fmt.Errorf("migration %d (%q): nil Up", i, m.Name)
		}
		prev = m.Version
	}
	return nil
}

func (db *DB) init(opts Options) error {
	// Verify before writing anything to a possibly damaged file.
	if err := db.verify(opts); err != nil {
		return err
	}
	if db.readOnly {
		cur, err := db.SchemaVersion(context.Background())
		if err != nil {
			return err
		}
		if n := len(opts.Migrations); n > 0 {
			if last := opts.Migrations[n-1].Version; cur < last {
				return fmt.Errorf("store: open %s read-only: schema version %d, migrations up to %d pending; open read-write first", db.path, cur, last)
			} else if cur > last {
				return fmt.Errorf("store: open %s: stored version %d, known up to %d: %w", db.path, cur, last, ErrSchemaTooNew)
			}
		}
		return nil
	}

	ctx := context.Background()
	if err := EnsureBuckets(ctx, db, opts.Buckets); err != nil {
		return fmt.Errorf("store: open %s: ensure buckets: %w", db.path, err)
	}
	if err := Migrate(ctx, db, opts.Migrations, db.log); err != nil {
		return fmt.Errorf("store: open %s: %w", db.path, err)
	}
	return nil
}

func (db *DB) verify(opts Options) error {
	if !opts.Verify {
		return nil
	}
	if err := db.Check(); err != nil {
		return fmt.Errorf("store: open %s: verify: %w", db.path, err)
	}
	return nil
}

// Close closes the database and releases the file lock.
func (db *DB) Close() error {
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close %s: %w", db.path, err)
	}
	return nil
}

// Path returns the path the database was opened with.
func (db *DB) Path() string { return db.path }

// Bolt returns the underlying bbolt handle.
func (db *DB) Bolt() *bbolt.DB { return db.bolt }

// Update runs fn in a read-write transaction. Do no network I/O inside fn:
// it holds the single writer lock. bbolt does not watch ctx once fn runs.
func (db *DB) Update(ctx context.Context, fn func(tx Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.bolt.Update(func(tx *bbolt.Tx) error { return fn(boltTx{tx}) })
}

// View runs fn in a read-only transaction. Byte slices read inside fn are
// only valid until fn returns; copy what you keep.
func (db *DB) View(ctx context.Context, fn func(tx Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.bolt.View(func(tx *bbolt.Tx) error { return fn(boltTx{tx}) })
}

// Ping always succeeds on an open file: bbolt has no connection to lose.
func (db *DB) Ping(ctx context.Context) error { return ctx.Err() }

// Engine is "bbolt".
func (db *DB) Engine() string { return "bbolt" }

// SchemaVersion returns the stored schema version (0 if none was recorded).
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.View(ctx, func(tx Tx) error {
		var err error
		v, err = SchemaVersionTx(tx)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: schema version: %w", err)
	}
	return v, nil
}

// CreatedAt returns when the database was first opened by this package.
// It is the zero time for a file opened read-only that never had one.
func (db *DB) CreatedAt() (time.Time, error) {
	var t time.Time
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		meta := tx.Bucket([]byte(MetaBucket))
		if meta == nil {
			return nil
		}
		raw := meta.Get([]byte(keyCreatedAt))
		if raw == nil {
			return nil
		}
		var err error
		t, err = time.Parse(time.RFC3339Nano, string(raw))
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("store: created_at: %w", err)
	}
	return t, nil
}

// Backup writes a consistent snapshot of the database to w. It runs in a
// read transaction, so writers are not blocked.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup %s: %w", db.path, err)
	}
	return n, nil
}

// BackupFile writes a snapshot to path atomically: it writes path+".tmp"
// (mode 0600), fsyncs it, renames it over path and fsyncs the directory.
// It refuses to overwrite the live database file.
func (db *DB) BackupFile(path string) (err error) {
	if err := db.notLiveFile(path); err != nil {
		return err
	}
	tmp := path + ".tmp"
	// Remove a stale temp file so the new one is created with our mode.
	if err := os.Remove(tmp); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, fileMode)
	if err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	if _, err = db.Backup(f); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("store: backup to %s: fsync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("store: backup to %s: close: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("store: backup to %s: fsync dir: %w", path, err)
	}
	return nil
}

func (db *DB) notLiveFile(path string) error {
	a, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	b, err := filepath.Abs(db.path)
	if err != nil {
		return fmt.Errorf("store: backup to %s: %w", path, err)
	}
	same := a == b
	if !same {
		if fi, err := os.Stat(path); err == nil {
			if li, err := os.Stat(db.path); err == nil {
				same = os.SameFile(fi, li)
			}
		}
	}
	if same {
		return fmt.Errorf("store: backup to %s: refusing to overwrite the live database", path)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}
