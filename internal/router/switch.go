package router

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
)

// ParseOnOff reads an on/off word ("on", "yes", "true", "enable"; "off",
// "no", "false", "disable").
func ParseOnOff(word string) (on, ok bool) {
	switch strings.ToLower(word) {
	case "on", "yes", "true", "enable":
		return true, true
	case "off", "no", "false", "disable":
		return false, true
	}
	return false, false
}

// Switch is an on/off setting of a channel, run as
// "/soe config <Name> [on|off]" (RunSwitch).
type Switch struct {
	Name  string // the word after /soe config
	Alone string // what "/soe config <Name>" alone does, for the usage ("says which is on")
	Get   func(ctx context.Context, teamID, channelID string) (bool, error)
	Set   func(ctx context.Context, teamID, channelID string, on bool) error
	// Shown says the setting; Changed tells the channel who changed it.
	Shown   func(on bool) chat.Message
	Changed func(userID string, on bool) chat.Message
	// Refuse, when set, may refuse a change before it is saved (the reply).
	Refuse func(ctx context.Context, r *Request, on bool) *chat.Message
}

// Replier is what RunSwitch uses of the router.
type Replier interface {
	Reply(ctx context.Context, env *chat.Envelope, m chat.Message)
	Command() string
}

// RunSwitch shows (no args) or sets (on|off) s in the request's channel.
// Anything else, or a DM, gets the usage; nothing is saved then.
func RunSwitch(ctx context.Context, rt Replier, log *slog.Logger, r *Request, args []string, s Switch) {
	cmd := rt.Command() + " config " + s.Name
	usage := blockkit.Warning(fmt.Sprintf("Usage: %s or %s in a channel (%s alone %s).",
		mrkdwn.Code(cmd+" on"), mrkdwn.Code(cmd+" off"), mrkdwn.Code(cmd), s.Alone))
	on, ok := false, len(args) == 0
	if len(args) == 1 {
		on, ok = ParseOnOff(args[0])
	}
	if !ok || !chat.ValidID(r.ChannelID) || strings.HasPrefix(r.ChannelID, "D") {
		rt.Reply(ctx, r.Env, usage)
		return
	}
	if len(args) == 0 {
		cur, err := s.Get(ctx, r.TeamID, r.ChannelID)
		if err != nil {
			log.ErrorContext(ctx, "reading a channel setting failed", "setting", s.Name, "err", err)
			rt.Reply(ctx, r.Env, blockkit.Warning("I could not read this channel's settings. Please try again."))
			return
		}
		rt.Reply(ctx, r.Env, s.Shown(cur))
		return
	}
	if s.Refuse != nil {
		if m := s.Refuse(ctx, r, on); m != nil {
			rt.Reply(ctx, r.Env, *m)
			return
		}
	}
	if err := s.Set(ctx, r.TeamID, r.ChannelID, on); err != nil {
		log.ErrorContext(ctx, "saving a channel setting failed", "setting", s.Name, "err", err)
		rt.Reply(ctx, r.Env, blockkit.Warning("I could not save this channel's settings. Please try again."))
		return
	}
	rt.Reply(ctx, r.Env, s.Changed(r.UserID, on))
}
