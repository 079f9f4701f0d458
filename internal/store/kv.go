package store

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Store is what every owner of data sees: ordered byte keys in named
// buckets, read and written in transactions. There are two engines behind
// it, proved equal by one conformance suite (internal/store/storetest):
// the bbolt file (*DB, the default) and PostgreSQL (internal/store/pgstore,
// for replicas).
//
// The semantics are bbolt's on both: one writer at a time (on PostgreSQL,
// across every replica), readers see a consistent snapshot, a write
// transaction whose fn returns an error, or that failed to read, is rolled
// back as a whole. fn may run only once; do no network I/O in it.
type Store interface {
	// Update runs fn in a read-write transaction.
	Update(ctx context.Context, fn func(tx Tx) error) error
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(tx Tx) error) error
	// Sweep deletes, in bounded batches, the keys of bucket for which
	// expired is true and returns how many it deleted.
	Sweep(ctx context.Context, bucket []byte, expired func(k, v []byte) bool) (int, error)
	// SchemaVersion is the version of the last data migration applied.
	SchemaVersion(ctx context.Context) (int, error)
	// Ping reports whether the engine can serve transactions now.
	Ping(ctx context.Context) error
	// Engine names the engine ("bbolt", "postgres") for logs and -h.
	Engine() string
	Close() error
}

// Tx is one transaction. A read error (possible on PostgreSQL) is kept by
// the transaction: Get then returns nil, cursors stop, and Update or View
// returns the error, so fn never commits on a partial read.
type Tx interface {
	// Bucket returns the top-level bucket name, or nil if it does not exist.
	Bucket(name []byte) Bucket
	CreateBucketIfNotExists(name []byte) (Bucket, error)
	// DeleteBucket removes the bucket and its keys; ErrBucketNotFound when
	// it is not there.
	DeleteBucket(name []byte) error
	Writable() bool
}

// Bucket is an ordered set of keys (byte-wise order on both engines).
// Slices returned are valid until the transaction ends; copy what you keep.
type Bucket interface {
	Get(key []byte) []byte
	Put(key, value []byte) error
	Delete(key []byte) error
	Cursor() Cursor
	// ForEach calls fn for each key in order. Do not modify the bucket in fn.
	ForEach(fn func(k, v []byte) error) error
	// NextSequence returns the next value of the bucket's counter (1, 2, …).
	NextSequence() (uint64, error)
	// Sequence and SetSequence read and set that counter (bot migrate-store
	// copies it).
	Sequence() uint64
	SetSequence(n uint64) error
	// Len counts the keys.
	Len() int
}

// Cursor walks a bucket in key order; k == nil means the end.
type Cursor interface {
	First() (k, v []byte)
	Seek(seek []byte) (k, v []byte)
	Next() (k, v []byte)
}

// ErrUnavailable means the database cannot be reached now (PostgreSQL down,
// connection lost, pool exhausted past the context's deadline). Nothing was
// written; the caller says "try again in a moment".
var ErrUnavailable = errors.New("the database is unavailable")

// boltTx adapts *bbolt.Tx to Tx.
type boltTx struct{ tx *bbolt.Tx }

func (t boltTx) Bucket(name []byte) Bucket {
	b := t.tx.Bucket(name)
	if b == nil {
		return nil
	}
	return boltBucket{b}
}

func (t boltTx) CreateBucketIfNotExists(name []byte) (Bucket, error) {
	b, err := t.tx.CreateBucketIfNotExists(name)
	if err != nil {
		return nil, err
	}
	return boltBucket{b}, nil
}

func (t boltTx) DeleteBucket(name []byte) error {
	err := t.tx.DeleteBucket(name)
	if errors.Is(err, berrors.ErrBucketNotFound) {
		return fmt.Errorf("bucket %q: %w", name, ErrBucketNotFound)
	}
	return err
}

func (t boltTx) Writable() bool { return t.tx.Writable() }

type boltBucket struct{ b *bbolt.Bucket }

func (b boltBucket) Get(key []byte) []byte                    { return b.b.Get(key) }
func (b boltBucket) Put(key, value []byte) error              { return b.b.Put(key, value) }
func (b boltBucket) Delete(key []byte) error                  { return b.b.Delete(key) }
func (b boltBucket) Cursor() Cursor                           { return boltCursor{b.b.Cursor()} }
func (b boltBucket) ForEach(fn func(k, v []byte) error) error { return b.b.ForEach(skipNested(fn)) }
func (b boltBucket) NextSequence() (uint64, error)            { return b.b.NextSequence() }
func (b boltBucket) Sequence() uint64                         { return b.b.Sequence() }
func (b boltBucket) SetSequence(n uint64) error               { return b.b.SetSequence(n) }
func (b boltBucket) Len() int                                 { return b.b.Stats().KeyN }

// skipNested hides nested buckets (v == nil), which the PostgreSQL engine
// does not have.
func skipNested(fn func(k, v []byte) error) func(k, v []byte) error {
	return func(k, v []byte) error {
		if v == nil {
			return nil
		}
		return fn(k, v)
	}
}

type boltCursor struct{ c *bbolt.Cursor }

func (c boltCursor) First() (k, v []byte)           { return c.skip(c.c.First()) }
func (c boltCursor) Seek(seek []byte) (k, v []byte) { return c.skip(c.c.Seek(seek)) }
func (c boltCursor) Next() (k, v []byte)            { return c.skip(c.c.Next()) }

func (c boltCursor) skip(k, v []byte) ([]byte, []byte) {
	for k != nil && v == nil {
		k, v = c.c.Next()
	}
	return k, v
}
