package router

import (
	"context"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
)

// ExternalMessage is the refusal a person of another organization gets
// (someone in a Slack Connect channel): soebot acts only for the people of
// the organization that installed it, with their own Stack Overflow
// connections.
func ExternalMessage() chat.Message {
	text := ":no_entry: Sorry, I work only for the people of the organization that installed me. " +
		"You are here from another organization (a Slack Connect channel), so I cannot run this for you. " +
		"If your organization uses Stack Overflow Enterprise, ask your Slack admin to install the Stack Overflow app there."
	return chat.Message{Text: text}
}

// externalAck answers an external person's slash command in the ack
// itself (no I/O); other envelopes of theirs get nothing in the ack.
func (r *Router) externalAck(env *chat.Envelope) any {
	switch {
	case env.Slash != nil:
		env.Answered = true
		return chat.SlashAck(ExternalMessage())
	case env.Interaction != nil && env.Interaction.Type == slack.InteractionTypeBlockSuggestion:
		return slack.OptionsResponse{Options: []*slack.OptionBlockObject{}}
	}
	return nil
}

// refuseExternal tells an external person no (clicks, shortcuts, modal
// submissions); their events are dropped. Nothing of theirs is stored and
// no Stack Overflow connection is looked up for them.
func (r *Router) refuseExternal(ctx context.Context, env *chat.Envelope) {
	r.log.InfoContext(ctx, "refused a person of another organization", "type", env.Type, "workspace", env.WorkspaceID())
	if env.Interaction == nil {
		return
	}
	r.Reply(ctx, env, ExternalMessage())
}

// stranger reports whether a click on an org-wide install comes from a
// person of another workspace than the envelope's (the payload names only
// the workspace): users.info then says whether they are of our
// organization. Slack Connect strangers are refused; when Slack cannot
// say, so are they. Everything else costs nothing.
func (r *Router) stranger(ctx context.Context, env *chat.Envelope) bool {
	if !env.OrgInstall || env.Interaction == nil || env.UserTeam == "" || env.UserTeam == env.WorkspaceID() || r.slack == nil {
		return false
	}
	u, err := r.slack.UserInfo(ctx, env.UserID)
	if err != nil {
		r.log.WarnContext(ctx, "users.info failed for a person of another workspace; refusing", "err", err)
		return true
	}
	return u.Enterprise.EnterpriseID != env.EnterpriseID
}

// workspaceContext names the envelope's workspace for the Web API calls
// of an org-wide install (an org-level token needs team_id there).
func workspaceContext(ctx context.Context, env *chat.Envelope) context.Context {
	if !env.OrgInstall {
		return ctx
	}
	return chat.WithWorkspace(ctx, env.WorkspaceID())
}
