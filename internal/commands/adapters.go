package commands

// Adapters for the features still in this package to what moved out. Each
// goes once its last user here has moved too.

import (
	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/soetext"
)

// Slack text of SOE things (internal/soetext): search, unfurl, whoami.
func plainTitle(s string, n int) string                 { return soetext.Title(s, n) }
func votes(n int) string                                { return soetext.Votes(n) }
func answers(n int) string                              { return soetext.Answers(n) }
func tagList(tags []string, max int) string             { return soetext.Tags(tags, max) }
func profileLink(l linking.Link) string                 { return soetext.Account(l) }
func expiryText(l linking.Link) string                  { return soetext.Expiry(l) }
func capBlocks(bs []slack.Block, max int) []slack.Block { return blockkit.Cap(bs, max) }

// searchTitleN is how much of a post title the Home shows (internal/soetext).
const searchTitleN = soetext.TitleLen

// marshalValue encodes a button value (internal/blockkit): ask.
func marshalValue(v any) string { return blockkit.Value(v) }
