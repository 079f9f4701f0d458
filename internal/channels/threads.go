package channels

import (
	"context"
	"fmt"

	"github.com/soebot/soebot/internal/store"
)

// bucketThreads maps "team/channel" to "off" when the channel's
// notifications are one message per event (/soe config threads off). No
// entry: living question cards with their answers in the card's thread.
var bucketThreads = []byte("channel_threads")

// ThreadsOn reports whether a channel's notifications are living question
// cards (the default) rather than one message per event.
func (s *Settings) ThreadsOn(ctx context.Context, teamID, channelID string) (bool, error) {
	k, ok := lookupKey(teamID, channelID)
	if !ok {
		return true, nil
	}
	var v string
	err := s.db.View(ctx, func(tx store.Tx) error {
		v = string(tx.Bucket(bucketThreads).Get(k))
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("channels: read threads setting: %w", err)
	}
	return v != "off", nil
}

// SetThreads turns living question cards on (the default) or off.
func (s *Settings) SetThreads(ctx context.Context, teamID, channelID string, on bool) error {
	k, err := key(teamID, channelID)
	if err != nil {
		return err
	}
	err = s.db.Update(ctx, func(tx store.Tx) error {
		if on {
			return tx.Bucket(bucketThreads).Delete(k)
		}
		return tx.Bucket(bucketThreads).Put(k, []byte("off"))
	})
	if err != nil {
		return fmt.Errorf("channels: save threads setting: %w", err)
	}
	return nil
}
