package channels

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/soebot/soebot/internal/store"
)

// bucketSuggest maps "team/channel" to the channel's answer suggestion
// setting (JSON Suggest). No entry: suggestions are off.
var bucketSuggest = []byte("channel_suggest")

// Suggest is a channel's answer suggestion setting: whether soebot suggests
// Stack Overflow answers to questions asked there (/soe config suggest
// on|off), and how often someone found a suggestion not helpful (each time
// raises the bar a hit must clear there).
type Suggest struct {
	On         bool `json:"on"`
	NotHelpful int  `json:"not_helpful,omitempty"`
}

// SuggestSetting reads a channel's setting (the zero value: off).
func (s *Settings) SuggestSetting(ctx context.Context, teamID, channelID string) (Suggest, error) {
	var v Suggest
	k, ok := lookupKey(teamID, channelID)
	if !ok {
		return v, nil
	}
	err := s.db.View(ctx, func(tx store.Tx) error { return readSuggest(tx, k, &v) })
	if err != nil {
		return Suggest{}, fmt.Errorf("channels: read suggest setting: %w", err)
	}
	return v, nil
}

// SetSuggest turns suggestions on or off (keeping what was learnt).
func (s *Settings) SetSuggest(ctx context.Context, teamID, channelID string, on bool) error {
	return s.updateSuggest(ctx, teamID, channelID, func(v *Suggest) { v.On = on })
}

// NotHelpful remembers that a suggestion in the channel did not help, and
// returns the new count.
func (s *Settings) NotHelpful(ctx context.Context, teamID, channelID string) (int, error) {
	n := 0
	err := s.updateSuggest(ctx, teamID, channelID, func(v *Suggest) { v.NotHelpful++; n = v.NotHelpful })
	return n, err
}

func (s *Settings) updateSuggest(ctx context.Context, teamID, channelID string, f func(*Suggest)) error {
	k, err := key(teamID, channelID)
	if err != nil {
		return err
	}
	err = s.db.Update(ctx, func(tx store.Tx) error {
		var v Suggest
		if err := readSuggest(tx, k, &v); err != nil {
			return err
		}
		f(&v)
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketSuggest).Put(k, b)
	})
	if err != nil {
		return fmt.Errorf("channels: save suggest setting: %w", err)
	}
	return nil
}

// readSuggest reads k's setting in tx; a value that no longer parses counts
// as off.
func readSuggest(tx store.Tx, k []byte, v *Suggest) error {
	raw := tx.Bucket(bucketSuggest).Get(k)
	if raw == nil {
		return nil
	}
	if json.Unmarshal(raw, v) != nil {
		*v = Suggest{}
	}
	return nil
}
