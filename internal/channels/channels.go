// Package channels keeps per-channel settings and answers who may see what
// in a channel: a channel's default scope (the private team every command
// in the channel means when it names none, set with /soe config team
// <slug>; the router reads it, the subscriptions feature writes it), and
// whether a private team's content may be shown there without asking
// (Audience: everyone in the channel is known to be on the team, or someone
// chose "Always in this channel").
package channels

import (
	"context"
	"errors"
	"fmt"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// bucketScope maps "team/channel" to a scope key. The name predates this
// package (the notifications feature kept it), so existing databases keep
// their settings.
var bucketScope = []byte("notify_channel_scope")

// ErrBadInput is returned for ids that are not Slack ids.
var ErrBadInput = errors.New("channels: bad input")

// Buckets are the top-level buckets this package uses (store.Options.Buckets).
func Buckets() [][]byte { return [][]byte{bucketScope, bucketAllowed, bucketSuggest, bucketThreads} }

// Settings reads and writes channel settings.
type Settings struct{ db store.Store }

// New returns the settings kept in db (opened with Buckets).
func New(db store.Store) *Settings { return &Settings{db: db} }

func key(teamID, channelID string) ([]byte, error) {
	for _, id := range []string{teamID, channelID} {
		if !chat.ValidID(id) {
			return nil, fmt.Errorf("%w: bad Slack id %q", ErrBadInput, id)
		}
	}
	return []byte(teamID + "/" + channelID), nil
}

// lookupKey is key for reads: ok is false when either id is not a Slack id
// (a DM with no id, a test), and nothing can be stored under such a pair.
func lookupKey(teamID, channelID string) (k []byte, ok bool) {
	k, err := key(teamID, channelID)
	return k, err == nil
}

// SetChannelScope sets (scope != nil) or clears a channel's default scope.
func (s *Settings) SetChannelScope(ctx context.Context, teamID, channelID string, scope *soe.Scope) error {
	k, err := key(teamID, channelID)
	if err != nil {
		return err
	}
	err = s.db.Update(ctx, func(tx store.Tx) error {
		b := tx.Bucket(bucketScope)
		if scope == nil {
			return b.Delete(k)
		}
		return b.Put(k, []byte(scope.Key()))
	})
	if err != nil {
		return fmt.Errorf("channels: save default scope: %w", err)
	}
	return nil
}

// ChannelScope returns a channel's default scope, if one is set. A value
// that no longer parses counts as unset.
func (s *Settings) ChannelScope(ctx context.Context, teamID, channelID string) (soe.Scope, bool, error) {
	k, ok := lookupKey(teamID, channelID)
	if !ok {
		return soe.Scope{}, false, nil // not a channel (a DM with no id, a test): no default
	}
	var v string
	err := s.db.View(ctx, func(tx store.Tx) error {
		v = string(tx.Bucket(bucketScope).Get(k))
		return nil
	})
	if err != nil {
		return soe.Scope{}, false, fmt.Errorf("channels: read default scope: %w", err)
	}
	if v == "" {
		return soe.Scope{}, false, nil
	}
	sc, err := soe.ParseScopeKey(v)
	return sc, err == nil, nil // a value that no longer parses counts as unset
}
