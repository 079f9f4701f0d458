package linking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"go.etcd.io/bbolt"

	"github.com/soebot/soebot/internal/soe"
)

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }

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
		n, err := s.db.Sweep(b, expired)
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
// are marked invalid, so the users are asked to reconnect).
func (s *Service) RotateKeys(ctx context.Context) (int, error) {
	const batch = 200
	rotated := 0
	var failed []string
	var after []byte
	for {
		if err := ctx.Err(); err != nil {
			return rotated, err
		}
		var last []byte
		n := 0
		err := s.db.Update(func(tx *bbolt.Tx) error {
			b := tx.Bucket(bucketLinks)
			c := b.Cursor()
			k, v := c.First()
			if after != nil {
				k, v = c.Seek(after)
				if k != nil && string(k) == string(after) {
					k, v = c.Next()
				}
			}
			type upd struct {
				k, v []byte
			}
			var ups []upd
			for ; k != nil && n < batch; k, v = c.Next() {
				n++
				last = append([]byte(nil), k...)
				var rec linkRecord
				if err := json.Unmarshal(v, &rec); err != nil {
					failed = append(failed, string(k))
					continue
				}
				if s.keys.Current(rec.Token) {
					continue
				}
				sc, err := soe.ParseScopeKey(rec.Scope)
				if err != nil {
					failed = append(failed, string(k))
					continue
				}
				aad := linkAAD(rec.TeamID, rec.UserID, sc)
				plain, err := s.keys.Open(rec.Token, aad)
				if err != nil {
					failed = append(failed, string(k))
					if !rec.Invalid {
						rec.Invalid, rec.InvalidReason = true, "the stored token could not be decrypted"
						nv, _ := json.Marshal(&rec)
						ups = append(ups, upd{append([]byte(nil), k...), nv})
					}
					continue
				}
				sealed, err := s.keys.Seal(plain, aad)
				clear(plain)
				if err != nil {
					return err
				}
				rec.Token = sealed
				nv, err := json.Marshal(&rec)
				if err != nil {
					return err
				}
				ups = append(ups, upd{append([]byte(nil), k...), nv})
				rotated++
			}
			for _, u := range ups {
				if err := b.Put(u.k, u.v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return rotated, fmt.Errorf("linking: rotate keys: %w", err)
		}
		if n < batch {
			break
		}
		after = last
	}
	s.log.InfoContext(ctx, "token keys rotated", "reencrypted", rotated, "failed", len(failed), "key", s.keys.CurrentKeyID())
	if len(failed) > 0 {
		return rotated, fmt.Errorf("linking: %d stored token(s) could not be decrypted with any key and were marked for reconnecting", len(failed))
	}
	return rotated, nil
}
