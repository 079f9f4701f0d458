package linking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

// sortLinks orders links main site first, then teams by slug.
func sortLinks(ls []Link) {
	sort.SliceStable(ls, func(i, j int) bool {
		a, b := ls[i].Scope, ls[j].Scope
		if a.IsTeam() != b.IsTeam() {
			return !a.IsTeam()
		}
		return a.Team < b.Team
	})
}

func expiredAt(now, t time.Time) bool { return !t.IsZero() && !now.Before(t) }

// Sweep deletes expired pending links and OAuth states (and unreadable ones)
// and returns how many it deleted.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	now := s.cfg.Now()
	expired := func(_, v []byte) bool {
		var r struct {
			Expires time.Time `json:"expires"`
		}
		if err := json.Unmarshal(v, &r); err != nil {
			return true
		}
		return r.Expires.IsZero() || expiredAt(now, r.Expires)
	}
	total := 0
	var errs []error
	for _, b := range [][]byte{bucketPending, bucketStates} {
		n, err := s.db.Sweep(ctx, b, expired)
		total += n
		if err != nil {
			errs = append(errs, err)
		}
	}
	if total > 0 {
		s.log.DebugContext(ctx, "swept expired pending links", "count", total)
	}
	return total, errors.Join(errs...)
}

// RunSweeper calls Sweep every period until ctx is done.
func (s *Service) RunSweeper(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "sweep failed", "err", err)
			}
		}
	}
}

// RotateKeys re-encrypts every stored token that is not sealed with the
// keyring's current (first) key and returns how many it re-encrypted. Tokens
// that no key opens are left alone and reported in the error (their links
// are marked invalid, so the users are asked to reconnect). It works in
// batches, one write transaction each, so the bot's lock is never held long.
func (s *Service) RotateKeys(ctx context.Context) (int, error) {
	var total rotation
	var after []byte
	for {
		if err := ctx.Err(); err != nil {
			return total.rotated, err
		}
		var batch rotation
		err := s.db.Update(ctx, func(tx store.Tx) error {
			batch = rotation{}
			return s.rotateBatch(tx.Bucket(bucketLinks), after, &batch)
		})
		if err != nil {
			return total.rotated, fmt.Errorf("linking: rotate keys: %w", err)
		}
		total.rotated += batch.rotated
		total.failed += batch.failed
		if batch.seen < rotateBatchSize {
			break
		}
		after = batch.last
	}
	s.log.InfoContext(ctx, "token keys rotated", "reencrypted", total.rotated, "failed", total.failed, "key", s.keys.CurrentKeyID())
	if total.failed > 0 {
		return total.rotated, fmt.Errorf("linking: %d stored token(s) could not be decrypted with any key and were marked for reconnecting", total.failed)
	}
	return total.rotated, nil
}

const rotateBatchSize = 200

// rotation counts one batch (or all of them).
type rotation struct {
	seen, rotated, failed int
	last                  []byte // the batch's last key
}

// rotateBatch rotates up to rotateBatchSize links after key after (from the
// start when nil). Writes are collected and put after the cursor walk.
func (s *Service) rotateBatch(b store.Bucket, after []byte, r *rotation) error {
	c := b.Cursor()
	k, v := c.First()
	if after != nil {
		if k, v = c.Seek(after); k != nil && string(k) == string(after) {
			k, v = c.Next()
		}
	}
	type put struct{ k, v []byte }
	var puts []put
	for ; k != nil && r.seen < rotateBatchSize; k, v = c.Next() {
		r.seen++
		r.last = append([]byte(nil), k...)
		out, nv, err := s.rotateRecord(v)
		if err != nil {
			return err
		}
		switch out {
		case keyRotated:
			r.rotated++
		case keyFailed:
			r.failed++
		}
		if nv != nil {
			puts = append(puts, put{r.last, nv})
		}
	}
	for _, p := range puts {
		if err := b.Put(p.k, p.v); err != nil {
			return err
		}
	}
	return nil
}

// rotateOutcome is what rotateRecord did with one link record.
type rotateOutcome int

const (
	keyCurrent rotateOutcome = iota // already sealed with the current key
	keyRotated                      // re-sealed with the current key
	keyFailed                       // unreadable, or no key opens it
)

// rotateRecord re-seals one link record's token with the current key. It
// returns the record to write back, if any: the re-sealed one, or, for a
// token no key opens, the record marked invalid (once).
func (s *Service) rotateRecord(v []byte) (rotateOutcome, []byte, error) {
	var rec linkRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return keyFailed, nil, nil //nolint:nilerr // an unreadable record is an outcome (counted as failed), not an error that aborts the batch
	}
	if s.keys.Current(rec.Token) {
		return keyCurrent, nil, nil
	}
	sc, err := soe.ParseScopeKey(rec.Scope)
	if err != nil {
		return keyFailed, nil, nil //nolint:nilerr // as above: a record with an unreadable scope counts as failed
	}
	aad := linkAAD(rec.TeamID, rec.UserID, sc)
	plain, err := s.keys.Open(rec.Token, aad)
	if err != nil {
		if rec.Invalid {
			return keyFailed, nil, nil
		}
		rec.Invalid, rec.InvalidReason = true, "the stored token could not be decrypted"
		nv, err := json.Marshal(&rec)
		return keyFailed, nv, err
	}
	sealed, err := s.keys.Seal(plain, aad)
	clear(plain)
	if err != nil {
		return keyFailed, nil, err
	}
	rec.Token = sealed
	nv, err := json.Marshal(&rec)
	return keyRotated, nv, err
}
