package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/soebot/soebot/internal/store"
)

// cursorBatch is how many rows a cursor reads per query.
const cursorBatch = 256

// tx is one PostgreSQL transaction seen as a store.Tx. The first failed
// statement is kept in err: later reads return nothing and the transaction
// is rolled back (store.Tx's contract).
type tx struct {
	ctx     context.Context
	tx      pgx.Tx
	write   bool
	err     error
	buckets map[string]bool // known existence, this transaction
}

func (t *tx) fail(err error) {
	if t.err == nil {
		t.err = unavailable(err)
	}
}

func (t *tx) Writable() bool { return t.write }

func (t *tx) Bucket(name []byte) store.Bucket {
	if t.err != nil {
		return nil
	}
	exists, known := t.buckets[string(name)]
	if !known {
		var n int
		if err := t.tx.QueryRow(t.ctx, "SELECT count(*) FROM soebot_buckets WHERE name = $1", name).Scan(&n); err != nil {
			t.fail(err)
			return nil
		}
		exists = n > 0
		t.buckets[string(name)] = exists
	}
	if !exists {
		return nil
	}
	return &bucket{t: t, name: append([]byte(nil), name...)}
}

func (t *tx) CreateBucketIfNotExists(name []byte) (store.Bucket, error) {
	if err := t.writable(); err != nil {
		return nil, err
	}
	if len(name) == 0 {
		return nil, berrors.ErrBucketNameRequired
	}
	if _, err := t.tx.Exec(t.ctx, "INSERT INTO soebot_buckets (name) VALUES ($1) ON CONFLICT DO NOTHING", name); err != nil {
		t.fail(err)
		return nil, t.err
	}
	t.buckets[string(name)] = true
	return &bucket{t: t, name: append([]byte(nil), name...)}, nil
}

func (t *tx) DeleteBucket(name []byte) error {
	if err := t.writable(); err != nil {
		return err
	}
	tag, err := t.tx.Exec(t.ctx, "DELETE FROM soebot_buckets WHERE name = $1", name)
	if err != nil {
		t.fail(err)
		return t.err
	}
	t.buckets[string(name)] = false
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("bucket %q: %w", name, store.ErrBucketNotFound)
	}
	return nil
}

func (t *tx) writable() error {
	switch {
	case t.err != nil:
		return t.err
	case !t.write:
		return berrors.ErrTxNotWritable
	}
	return nil
}

// bucket is one bucket of a transaction.
type bucket struct {
	t    *tx
	name []byte
}

func (b *bucket) Get(key []byte) []byte {
	if b.t.err != nil {
		return nil
	}
	var v []byte
	err := b.t.tx.QueryRow(b.t.ctx, "SELECT v FROM soebot_kv WHERE bucket = $1 AND k = $2", b.name, key).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		b.t.fail(err)
		return nil
	}
	if v == nil {
		v = []byte{} // present but empty, as in bbolt
	}
	return v
}

func (b *bucket) Put(key, value []byte) error {
	if err := b.t.writable(); err != nil {
		return err
	}
	if len(key) == 0 {
		return berrors.ErrKeyRequired
	}
	if value == nil {
		value = []byte{}
	}
	_, err := b.t.tx.Exec(b.t.ctx, `INSERT INTO soebot_kv (bucket, k, v) VALUES ($1, $2, $3)
		ON CONFLICT (bucket, k) DO UPDATE SET v = EXCLUDED.v`, b.name, key, value)
	if err != nil {
		b.t.fail(err)
		return b.t.err
	}
	return nil
}

func (b *bucket) Delete(key []byte) error {
	if err := b.t.writable(); err != nil {
		return err
	}
	if _, err := b.t.tx.Exec(b.t.ctx, "DELETE FROM soebot_kv WHERE bucket = $1 AND k = $2", b.name, key); err != nil {
		b.t.fail(err)
		return b.t.err
	}
	return nil
}

func (b *bucket) NextSequence() (uint64, error) {
	if err := b.t.writable(); err != nil {
		return 0, err
	}
	var n int64
	err := b.t.tx.QueryRow(b.t.ctx, "UPDATE soebot_buckets SET seq = seq + 1 WHERE name = $1 RETURNING seq", b.name).Scan(&n)
	if err != nil {
		b.t.fail(err)
		return 0, b.t.err
	}
	return uint64(n), nil
}

func (b *bucket) Sequence() uint64 {
	if b.t.err != nil {
		return 0
	}
	var n int64
	if err := b.t.tx.QueryRow(b.t.ctx, "SELECT seq FROM soebot_buckets WHERE name = $1", b.name).Scan(&n); err != nil {
		b.t.fail(err)
		return 0
	}
	return uint64(n)
}

func (b *bucket) SetSequence(n uint64) error {
	if err := b.t.writable(); err != nil {
		return err
	}
	if _, err := b.t.tx.Exec(b.t.ctx, "UPDATE soebot_buckets SET seq = $2 WHERE name = $1", b.name, int64(n)); err != nil {
		b.t.fail(err)
		return b.t.err
	}
	return nil
}

func (b *bucket) Len() int {
	if b.t.err != nil {
		return 0
	}
	var n int
	if err := b.t.tx.QueryRow(b.t.ctx, "SELECT count(*) FROM soebot_kv WHERE bucket = $1", b.name).Scan(&n); err != nil {
		b.t.fail(err)
		return 0
	}
	return n
}

func (b *bucket) ForEach(fn func(k, v []byte) error) error {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return b.t.err
}

func (b *bucket) Cursor() store.Cursor { return &cursor{b: b} }

// cursor reads the bucket in batches of cursorBatch rows (each batch fully
// read before fn sees a key, so callers may run other statements while they
// walk).
type cursor struct {
	b    *bucket
	rows []kv
	i    int
	last []byte // the last key read from the database; nil before the first
	done bool   // the last batch was short: nothing after it
}

type kv struct{ k, v []byte }

func (c *cursor) First() ([]byte, []byte) { return c.Seek(nil) }

func (c *cursor) Seek(seek []byte) ([]byte, []byte) {
	c.rows, c.i, c.done = nil, 0, false
	c.fetch("SELECT k, v FROM soebot_kv WHERE bucket = $1 AND k >= $2 ORDER BY k LIMIT $3", seekKey(seek))
	return c.current()
}

func (c *cursor) Next() ([]byte, []byte) {
	if c.i < len(c.rows) {
		c.i++
	}
	if c.i >= len(c.rows) && !c.done && c.last != nil {
		c.fetch("SELECT k, v FROM soebot_kv WHERE bucket = $1 AND k > $2 ORDER BY k LIMIT $3", c.last)
	}
	return c.current()
}

func seekKey(seek []byte) []byte {
	if seek == nil {
		return []byte{}
	}
	return seek
}

func (c *cursor) current() ([]byte, []byte) {
	if c.i >= len(c.rows) {
		return nil, nil
	}
	r := c.rows[c.i]
	return r.k, r.v
}

func (c *cursor) fetch(query string, from []byte) {
	c.rows, c.i = nil, 0
	t := c.b.t
	if t.err != nil {
		c.done = true
		return
	}
	rows, err := t.tx.Query(t.ctx, query, c.b.name, from, cursorBatch)
	if err != nil {
		t.fail(err)
		c.done = true
		return
	}
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (kv, error) {
		var e kv
		err := r.Scan(&e.k, &e.v)
		if e.v == nil {
			e.v = []byte{}
		}
		return e, err
	})
	if err != nil {
		t.fail(err)
		c.done = true
		return
	}
	c.rows = got
	c.done = len(got) < cursorBatch
	if len(got) > 0 {
		c.last = got[len(got)-1].k
	}
}
