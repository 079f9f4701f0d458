// Package asked remembers the questions people asked from Slack (/soe ask and
// the "Ask a question" shortcuts): which SOE question, in which scope, asked by
// which Slack user of which workspace, from which channel. The notifications
// feature reads it to tell askers when their questions get answers.
//
// Records live in one bbolt bucket of the shared store (internal/store). Keys
// are "<scope key>\x00<question id, 12 digits>", so the questions of one scope
// are contiguous and listed in id order.
package asked

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/soebot/soebot/internal/store"
)

// bucket holds Question records.
var bucket = []byte("asked_questions")

// Buckets are the top-level buckets this package uses (pass them to
// store.Open in Options.Buckets).
func Buckets() [][]byte { return [][]byte{bucket} }

// ErrInvalid is returned for a record that cannot be stored (no question id,
// no scope, no asker).
var ErrInvalid = errors.New("asked: invalid question record")

// Question is one question asked from Slack.
type Question struct {
	QuestionID int    `json:"question_id"` // SOE question id (unique within its scope)
	Scope      string `json:"scope"`       // soe.Scope.Key(): "main" or "team:<slug>"
	TeamID     string `json:"team_id"`     // Slack workspace
	UserID     string `json:"user_id"`     // the asker's Slack user id
	// ChannelID is where the asker started ("" for the global shortcut, which
	// has no channel: reach the asker by DM).
	ChannelID string `json:"channel_id,omitempty"`
	// SOEUserID is the asker's SOE user id (the question's owner).
	SOEUserID int `json:"soe_user_id,omitempty"`
	// Title and URL are what SOE returned when the question was created, so a
	// notification can name the question without an extra SOE call. Title is
	// untrusted SOE text: escape it before it reaches Slack.
	Title   string    `json:"title,omitempty"`
	URL     string    `json:"url,omitempty"`
	Created time.Time `json:"created"`
}

// Store reads and writes Question records. It is safe for concurrent use.
type Store struct{ db *store.DB }

// New returns a Store on db. When the database is writable and the bucket is
// missing (Buckets was not passed to store.Open), it is created.
func New(db *store.DB) (*Store, error) {
	if db == nil {
		return nil, errors.New("asked: nil database")
	}
	var missing bool
	if err := db.View(func(tx *bbolt.Tx) error { missing = tx.Bucket(bucket) == nil; return nil }); err != nil {
		return nil, fmt.Errorf("asked: %w", err)
	}
	if missing {
		err := db.Update(func(tx *bbolt.Tx) error {
			_, err := tx.CreateBucketIfNotExists(bucket)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("asked: create bucket: %w", err)
		}
	}
	return &Store{db: db}, nil
}

// key is "<scope>\x00<id, zero-padded>" so that a scope's keys sort by id.
func key(scope string, id int) []byte {
	return []byte(scope + "\x00" + fmt.Sprintf("%012d", id))
}

func scopePrefix(scope string) []byte { return []byte(scope + "\x00") }

func validScope(scope string) bool {
	return scope != "" && !strings.ContainsRune(scope, 0)
}

// Put records (or replaces) q.
func (s *Store) Put(ctx context.Context, q Question) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if q.QuestionID <= 0 || !validScope(q.Scope) || q.TeamID == "" || q.UserID == "" {
		return fmt.Errorf("%w: question %d in %q by %q/%q", ErrInvalid, q.QuestionID, q.Scope, q.TeamID, q.UserID)
	}
	if q.Created.IsZero() {
		q.Created = time.Now()
	}
	q.Created = q.Created.UTC()
	err := s.db.Update(func(tx *bbolt.Tx) error {
		return store.PutJSON(tx, bucket, string(key(q.Scope, q.QuestionID)), q)
	})
	if err != nil {
		return fmt.Errorf("asked: put: %w", err)
	}
	return nil
}

// Get returns the record of question id in scope; ok is false when there is none.
func (s *Store) Get(ctx context.Context, scope string, id int) (q Question, ok bool, err error) {
	if err := ctx.Err(); err != nil {
		return Question{}, false, err
	}
	if !validScope(scope) || id <= 0 {
		return Question{}, false, nil
	}
	err = s.db.View(func(tx *bbolt.Tx) error {
		var err error
		ok, err = store.GetJSON(tx, bucket, string(key(scope, id)), &q)
		return err
	})
	if err != nil {
		return Question{}, false, fmt.Errorf("asked: get: %w", err)
	}
	return q, ok, nil
}

// ListByScope returns every question recorded in scope, by question id.
// Unreadable records are skipped.
func (s *Store) ListByScope(ctx context.Context, scope string) ([]Question, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if !validScope(scope) {
		return nil, nil
	}
	prefix := scopePrefix(scope)
	var out []Question
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return fmt.Errorf("bucket %q: %w", bucket, store.ErrBucketNotFound)
		}
		c := b.Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var q Question
			if json.Unmarshal(v, &q) != nil {
				continue
			}
			out = append(out, q)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("asked: list %s: %w", scope, err)
	}
	return out, nil
}

// Scopes returns the scope keys that have at least one recorded question, sorted.
func (s *Store) Scopes(ctx context.Context) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []string
	err := s.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return fmt.Errorf("bucket %q: %w", bucket, store.ErrBucketNotFound)
		}
		c := b.Cursor()
		for k, _ := c.First(); k != nil; {
			i := bytes.IndexByte(k, 0)
			if i < 0 {
				k, _ = c.Next()
				continue
			}
			scope := string(k[:i])
			out = append(out, scope)
			// Jump past this scope: "\x01" sorts right after "\x00".
			k, _ = c.Seek([]byte(scope + "\x01"))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("asked: scopes: %w", err)
	}
	return out, nil
}

// Delete forgets question id in scope (no error when it was not recorded).
func (s *Store) Delete(ctx context.Context, scope string, id int) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !validScope(scope) || id <= 0 {
		return nil
	}
	err := s.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return fmt.Errorf("bucket %q: %w", bucket, store.ErrBucketNotFound)
		}
		return b.Delete(key(scope, id))
	})
	if err != nil {
		return fmt.Errorf("asked: delete: %w", err)
	}
	return nil
}

// Prune forgets the questions created before cutoff (bounded retention) and
// returns how many it removed. It deletes in batches (store.DB.Sweep).
func (s *Store) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	n, err := s.db.Sweep(bucket, func(_, v []byte) bool {
		var q struct {
			Created time.Time `json:"created"`
		}
		if json.Unmarshal(v, &q) != nil {
			return true // unreadable: nobody can use it
		}
		return q.Created.Before(cutoff)
	})
	if err != nil {
		return n, fmt.Errorf("asked: prune: %w", err)
	}
	return n, nil
}
