package app

import (
	"errors"
	"fmt"
	"slices"

	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/store"
)

// askedBucket held the questions asked from Slack (package asked, removed):
// written on every ask, read by nothing, never pruned.
var askedBucket = []byte("asked_questions")

// migrations are every schema step of the product in version order: the
// owners' steps first, then the product's own. A new step takes the next
// version after the last one here.
func migrations() []store.Migration {
	return slices.Concat(linking.Migrations(), []store.Migration{{
		Version: 2,
		Name:    "ask: drop the unused asked_questions bucket",
		Up:      dropBucket(askedBucket),
	}})
}

// dropBucket deletes a top-level bucket and everything in it; a bucket that
// is not there is fine.
func dropBucket(name []byte) func(tx store.Tx) error {
	return func(tx store.Tx) error {
		if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, store.ErrBucketNotFound) {
			return fmt.Errorf("delete bucket %q: %w", name, err)
		}
		return nil
	}
}
