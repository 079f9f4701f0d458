package store

import (
	"bytes"
	"context"
	"fmt"
)

// BucketCount is how many keys one bucket has in the source and the
// destination after CopyBuckets.
type BucketCount struct {
	Bucket      string
	Source      int
	Destination int
}

// copyBatch is how many keys one destination transaction writes.
const copyBatch = 500

// CopyBuckets copies every key of buckets from src to dst, byte for byte
// (sealed tokens stay sealed: nothing is decoded), with each bucket's
// sequence, in batches; then it verifies that every source key is in dst
// with the same value. Keys already in dst are overwritten, so running it
// twice does no harm. Both stores must be at the same schema version.
func CopyBuckets(ctx context.Context, src, dst Store, buckets [][]byte) ([]BucketCount, error) {
	sv, err := src.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	dv, err := dst.SchemaVersion(ctx)
	if err != nil {
		return nil, err
	}
	if sv != dv {
		return nil, fmt.Errorf("store: copy: source schema version %d, destination %d: open both with the same binary first", sv, dv)
	}
	var out []BucketCount
	for _, b := range buckets {
		if err := copyBucket(ctx, src, dst, b); err != nil {
			return out, fmt.Errorf("store: copy bucket %q: %w", b, err)
		}
		c, err := verifyBucket(ctx, src, dst, b)
		if err != nil {
			return out, fmt.Errorf("store: verify bucket %q: %w", b, err)
		}
		out = append(out, c)
	}
	return out, nil
}

type kv struct{ k, v []byte }

func copyBucket(ctx context.Context, src, dst Store, bucket []byte) error {
	var after []byte
	for {
		batch, seq, err := readBatch(ctx, src, bucket, after)
		if err != nil {
			return err
		}
		err = dst.Update(ctx, func(tx Tx) error {
			b, err := tx.CreateBucketIfNotExists(bucket)
			if err != nil {
				return err
			}
			for _, e := range batch {
				if err := b.Put(e.k, e.v); err != nil {
					return err
				}
			}
			if seq > b.Sequence() {
				return b.SetSequence(seq)
			}
			return nil
		})
		if err != nil || len(batch) < copyBatch {
			return err
		}
		after = batch[len(batch)-1].k
	}
}

// readBatch reads up to copyBatch keys of bucket after key after (from the
// start when nil), and the bucket's sequence.
func readBatch(ctx context.Context, s Store, bucket, after []byte) ([]kv, uint64, error) {
	var out []kv
	var seq uint64
	err := s.View(ctx, func(tx Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil // nothing to copy
		}
		seq = b.Sequence()
		c := b.Cursor()
		k, v := c.First()
		if after != nil {
			if k, v = c.Seek(after); k != nil && bytes.Equal(k, after) {
				k, v = c.Next()
			}
		}
		for ; k != nil && len(out) < copyBatch; k, v = c.Next() {
			out = append(out, kv{bytes.Clone(k), bytes.Clone(v)})
		}
		return nil
	})
	return out, seq, err
}

func verifyBucket(ctx context.Context, src, dst Store, bucket []byte) (BucketCount, error) {
	c := BucketCount{Bucket: string(bucket)}
	var after []byte
	for {
		batch, _, err := readBatch(ctx, src, bucket, after)
		if err != nil {
			return c, err
		}
		c.Source += len(batch)
		err = dst.View(ctx, func(tx Tx) error {
			b := tx.Bucket(bucket)
			for _, e := range batch {
				if b == nil || !bytes.Equal(b.Get(e.k), e.v) {
					return fmt.Errorf("key %q differs in the destination", e.k)
				}
			}
			return nil
		})
		if err != nil {
			return c, err
		}
		if len(batch) < copyBatch {
			break
		}
		after = batch[len(batch)-1].k
	}
	err := dst.View(ctx, func(tx Tx) error {
		if b := tx.Bucket(bucket); b != nil {
			c.Destination = b.Len()
		}
		return nil
	})
	return c, err
}
