package router

import (
	"context"
	"errors"

	"github.com/soebot/soebot/internal/chat"
)

// Reply shows m to the person behind env (chat.Reply: response_url, then an
// ephemeral message, then a DM) and logs when nothing reached them.
func (r *Router) Reply(ctx context.Context, env *chat.Envelope, m chat.Message) {
	if err := chat.Reply(ctx, r.slack, r.log, env, m); err != nil && !errors.Is(err, context.Canceled) {
		r.log.ErrorContext(ctx, "could not reply to user", "user", env.UserID, "err", err)
	}
}
