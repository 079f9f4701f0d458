package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"runtime/debug"

	"go.etcd.io/bbolt"
)

// Check runs bbolt's consistency check and returns the first problem found,
// wrapped with ErrCorrupt, or nil. Before that it walks every bucket and key
// with memory faults turned into panics, so a badly damaged page is reported
// as an error instead of crashing the process. On a read-write DB it runs in
// a (rolled back) write transaction, which keeps it consistent with the
// freelist while other writers wait.
func (db *DB) Check() (err error) {
	var tx *bbolt.Tx
	tx, err = db.bolt.Begin(!db.readOnly)
	if err != nil {
		return fmt.Errorf("store: check %s: %w", db.path, err)
	}
	defer func() { _ = tx.Rollback() }()

	if err := walk(tx); err != nil {
		return fmt.Errorf("store: check %s: %w: %w", db.path, err, ErrCorrupt)
	}
	var first error
	for cerr := range tx.Check() { // drain: the checker goroutine must finish
		if first == nil {
			first = cerr
		}
	}
	if first != nil {
		return fmt.Errorf("store: check %s: %w: %w", db.path, first, ErrCorrupt)
	}
	return nil
}

// walk reads every bucket, key and value in tx, converting panics and memory
// faults into an error.
func walk(tx *bbolt.Tx) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("reading pages panicked: %v", r)
		}
	}()
	var sum uint32
	var walkBucket func(b *bbolt.Bucket) error
	walkBucket = func(b *bbolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			// Read every byte so pages past the end of the file fault here.
			sum ^= crc32.ChecksumIEEE(k) ^ crc32.ChecksumIEEE(v)
			if v == nil {
				if child := b.Bucket(k); child != nil {
					return walkBucket(child)
				}
			}
			return nil
		})
	}
	err = tx.ForEach(func(_ []byte, b *bbolt.Bucket) error { return walkBucket(b) })
	_ = sum
	return err
}

// Sweep deletes the keys of bucket for which expired(k, v) is true and
// returns how many it deleted (SweepStore with Options.SweepBatch).
func (db *DB) Sweep(ctx context.Context, bucket []byte, expired func(k, v []byte) bool) (int, error) {
	return SweepStore(ctx, db, db.sweepBatch, bucket, expired)
}

// SweepStore deletes the keys of bucket in s for which expired(k, v) is
// true and returns how many it deleted. It works in batches: each write
// transaction deletes at most batch keys and scans at most ten times that,
// so a large bucket never holds the writer lock for long. k and v are only
// valid during the call to expired. Nested buckets are skipped. A missing
// bucket is an error wrapping ErrBucketNotFound. Both engines' Sweep is this.
func SweepStore(ctx context.Context, s Store, batch int, bucket []byte, expired func(k, v []byte) bool) (int, error) {
	if expired == nil {
		return 0, errors.New("store: sweep: nil expired func")
	}
	total := 0
	var resume []byte // last key scanned by the previous batch
	for {
		var done bool
		var deleted int
		err := s.Update(ctx, func(tx Tx) error {
			var err error
			deleted, done, resume, err = sweepBatch(tx, batch, bucket, resume, expired)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("store: sweep %q: %w", bucket, err)
		}
		total += deleted
		if done {
			return total, nil
		}
	}
}

// sweepBatch deletes up to batch expired keys after resume (from the start
// when nil), scanning at most 10*batch; it returns how many it deleted,
// whether it reached the end, and the last key scanned.
func sweepBatch(tx Tx, batch int, bucket, resume []byte, expired func(k, v []byte) bool) (int, bool, []byte, error) {
	b := tx.Bucket(bucket)
	if b == nil {
		return 0, true, resume, fmt.Errorf("bucket %q: %w", bucket, ErrBucketNotFound)
	}
	c := b.Cursor()
	k, v := c.First()
	if resume != nil {
		if k, v = c.Seek(resume); bytes.Equal(k, resume) {
			k, v = c.Next()
		}
	}
	var doomed [][]byte
	for scanned := 0; k != nil && len(doomed) < batch && scanned < batch*10; k, v = c.Next() {
		scanned++
		resume = append(resume[:0], k...)
		if expired(k, v) {
			doomed = append(doomed, bytes.Clone(k))
		}
	}
	// Delete after iterating: deleting under a live cursor can skip keys.
	for _, dk := range doomed {
		if err := b.Delete(dk); err != nil {
			return 0, false, resume, err
		}
	}
	return len(doomed), k == nil, resume, nil
}

// PutJSON stores v, encoded as JSON, under key in bucket. The bucket must
// exist (list it in Options.Buckets).
func PutJSON(tx Tx, bucket []byte, key string, v any) error {
	b := tx.Bucket(bucket)
	if b == nil {
		return fmt.Errorf("store: put %q/%q: %w", bucket, key, ErrBucketNotFound)
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("store: put %q/%q: encode: %w", bucket, key, err)
	}
	if err := b.Put([]byte(key), data); err != nil {
		return fmt.Errorf("store: put %q/%q: %w", bucket, key, err)
	}
	return nil
}

// GetJSON decodes the JSON value under key in bucket into v. It returns
// false (and leaves v alone) when the key is absent; a missing bucket is an
// error wrapping ErrBucketNotFound.
func GetJSON(tx Tx, bucket []byte, key string, v any) (bool, error) {
	b := tx.Bucket(bucket)
	if b == nil {
		return false, fmt.Errorf("store: get %q/%q: %w", bucket, key, ErrBucketNotFound)
	}
	data := b.Get([]byte(key))
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("store: get %q/%q: decode: %w", bucket, key, err)
	}
	return true, nil
}
