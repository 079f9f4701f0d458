package channels

import (
	"context"
	"encoding/json"
	"fmt"

	"go.etcd.io/bbolt"
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
func (s *Settings) SuggestSetting(_ context.Context, teamID, channelID string) (Suggest, error) {
	var v Suggest
	k, ok := lookupKey(teamID, channelID)
	if !ok {
		return v, nil
	}
	err := s.db.View(func(tx *bbolt.Tx) error { return readSuggest(tx, k, &v) })
	if err != nil {
		return Suggest{}, fmt.Errorf("channels: read suggest setting: %w", err)
	}
	return v, nil
}

// SetSuggest turns suggestions on or off (keeping what was learnt).
func (s *Settings) SetSuggest(_ context.Context, teamID, channelID string, on bool) error {
	return s.updateSuggest(teamID, channelID, func(v *Suggest) { v.On = on })
}

// NotHelpful remembers that a suggestion in the channel did not help, and
// returns the new count.
func (s *Settings) NotHelpful(_ context.Context, teamID, channelID string) (int, error) {
	n := 0
	err := s.updateSuggest(teamID, channelID, func(v *Suggest) { v.NotHelpful++; n = v.NotHelpful })
	return n, err
}

func (s *Settings) updateSuggest(teamID, channelID string, f func(*Suggest)) error {
	k, err := key(teamID, channelID)
	if err != nil {
		return err
	}
	err = s.db.Update(func(tx *bbolt.Tx) error {
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
func readSuggest(tx *bbolt.Tx, k []byte, v *Suggest) error {
	raw := tx.Bucket(bucketSuggest).Get(k)
	if raw == nil {
		return nil
	}
	if json.Unmarshal(raw, v) != nil {
		*v = Suggest{}
	}
	return nil
}
