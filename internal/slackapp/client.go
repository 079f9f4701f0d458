package slackapp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/soebot/soebot/internal/chat"
)

// Client implements chat.Slack over slack-go. It honours 429 Retry-After,
// paces posts per channel (about one message a second, short bursts allowed)
// and turns Slack error answers into *chat.Error values.
type Client struct {
	api *slack.Client
	log *slog.Logger

	maxRetries  int
	perChannel  rate.Limit
	burst       int
	mu          sync.Mutex
	limiters    map[string]*rate.Limiter
	imChannels  map[string]string
	teamName    string
	teamNameSet bool
}

// NewClient wraps api. perChannel is the steady post rate per channel
// (0 means 1/s).
func NewClient(api *slack.Client, log *slog.Logger, perChannel slackRate) *Client {
	if perChannel == 0 {
		perChannel = 1
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Client{
		api: api, log: log, maxRetries: 4, perChannel: rate.Limit(perChannel), burst: 3,
		limiters: map[string]*rate.Limiter{}, imChannels: map[string]string{},
	}
}

var _ chat.Slack = (*Client)(nil)

// call runs fn, retrying while Slack answers 429 (waiting Retry-After), and
// maps Slack error answers onto *chat.Error.
func (c *Client) call(ctx context.Context, method string, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil {
			return nil
		}
		var rl *slack.RateLimitedError
		if errors.As(err, &rl) && attempt < c.maxRetries {
			wait := rl.RetryAfter
			if wait <= 0 {
				wait = time.Second
			}
			c.log.WarnContext(ctx, "slack rate limited", "method", method, "retry_after", wait)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return fmt.Errorf("slack %s: %w", method, ctx.Err())
			case <-t.C:
			}
			continue
		}
		var se slack.SlackErrorResponse
		if errors.As(err, &se) {
			return &chat.Error{Method: method, Code: se.Err, Details: errorDetails(se)}
		}
		var sce slack.StatusCodeError
		if errors.As(err, &sce) && sce.Code == 404 && method == "response_url" {
			return &chat.Error{Method: method, Code: "expired_url"}
		}
		return fmt.Errorf("slack %s: %w", method, err)
	}
}

func (c *Client) pace(ctx context.Context, channel string) error {
	c.mu.Lock()
	l, ok := c.limiters[channel]
	if !ok {
		if len(c.limiters) > 10000 { // bounded: idle limiters are full anyway
			clear(c.limiters)
		}
		l = rate.NewLimiter(c.perChannel, c.burst)
		c.limiters[channel] = l
	}
	c.mu.Unlock()
	return l.Wait(ctx)
}

func msgOptions(m chat.Message) []slack.MsgOption {
	opts := []slack.MsgOption{slack.MsgOptionText(m.Text, false)}
	if m.Blocks != nil {
		opts = append(opts, slack.MsgOptionBlocks(m.Blocks...))
	}
	if m.ThreadTS != "" {
		opts = append(opts, slack.MsgOptionTS(m.ThreadTS))
	}
	if m.Metadata != nil {
		opts = append(opts, slack.MsgOptionMetadata(*m.Metadata))
	}
	return opts
}

// Respond posts to a response_url.
func (c *Client) Respond(ctx context.Context, responseURL string, m chat.Message) error {
	if responseURL == "" {
		return errors.New("slack response_url: empty")
	}
	opts := msgOptions(m)
	typ := slack.ResponseTypeEphemeral
	if m.InChannel {
		typ = slack.ResponseTypeInChannel
	}
	opts = append(opts, slack.MsgOptionResponseURL(responseURL, typ))
	if m.ReplaceOriginal {
		opts = append(opts, slack.MsgOptionReplaceOriginal(responseURL))
	}
	if m.DeleteOriginal {
		opts = append(opts, slack.MsgOptionDeleteOriginal(responseURL))
	}
	return c.call(ctx, "response_url", func() error {
		_, _, err := c.api.PostMessageContext(ctx, "", opts...)
		return err
	})
}

// Post sends a message to a channel (paced per channel).
func (c *Client) Post(ctx context.Context, channel string, m chat.Message) (string, error) {
	if err := c.pace(ctx, channel); err != nil {
		return "", err
	}
	var ts string
	err := c.call(ctx, "chat.postMessage", func() error {
		var err error
		_, ts, err = c.api.PostMessageContext(ctx, channel, msgOptions(m)...)
		return err
	})
	return ts, err
}

// PostEphemeral shows m to user in channel.
func (c *Client) PostEphemeral(ctx context.Context, channel, user string, m chat.Message) error {
	return c.call(ctx, "chat.postEphemeral", func() error {
		_, err := c.api.PostEphemeralContext(ctx, channel, user, msgOptions(m)...)
		return err
	})
}

// Update replaces a message the bot posted.
func (c *Client) Update(ctx context.Context, channel, ts string, m chat.Message) error {
	opts := msgOptions(m)
	if m.Blocks == nil {
		opts = append(opts, slack.MsgOptionBlocks()) // clear old blocks
	}
	return c.call(ctx, "chat.update", func() error {
		_, _, _, err := c.api.UpdateMessageContext(ctx, channel, ts, opts...)
		return err
	})
}

// DM opens the IM channel with user (cached) and posts m.
func (c *Client) DM(ctx context.Context, user string, m chat.Message) (string, string, error) {
	c.mu.Lock()
	ch, ok := c.imChannels[user]
	c.mu.Unlock()
	if !ok {
		err := c.call(ctx, "conversations.open", func() error {
			channel, _, _, err := c.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}, ReturnIM: true})
			if err == nil {
				ch = channel.ID
			}
			return err
		})
		if err != nil {
			return "", "", err
		}
		c.mu.Lock()
		if len(c.imChannels) > 100000 {
			clear(c.imChannels)
		}
		c.imChannels[user] = ch
		c.mu.Unlock()
	}
	ts, err := c.Post(ctx, ch, m)
	return ch, ts, err
}

// OpenView opens a modal.
func (c *Client) OpenView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (*slack.View, error) {
	var out *slack.View
	err := c.call(ctx, "views.open", func() error {
		r, err := c.api.OpenViewContext(ctx, triggerID, v)
		if err == nil {
			out = &r.View
		}
		return err
	})
	return out, err
}

// PushView pushes a modal on the stack.
func (c *Client) PushView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (*slack.View, error) {
	var out *slack.View
	err := c.call(ctx, "views.push", func() error {
		r, err := c.api.PushViewContext(ctx, triggerID, v)
		if err == nil {
			out = &r.View
		}
		return err
	})
	return out, err
}

// UpdateView replaces a modal.
func (c *Client) UpdateView(ctx context.Context, viewID, hash string, v slack.ModalViewRequest) (*slack.View, error) {
	var out *slack.View
	err := c.call(ctx, "views.update", func() error {
		r, err := c.api.UpdateViewContext(ctx, v, "", hash, viewID)
		if err == nil {
			out = &r.View
		}
		return err
	})
	return out, err
}

// PublishHome publishes user's App Home.
func (c *Client) PublishHome(ctx context.Context, user string, v slack.HomeTabViewRequest) error {
	return c.call(ctx, "views.publish", func() error {
		_, err := c.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: user, View: v})
		return err
	})
}

// UserInfo looks a user up.
func (c *Client) UserInfo(ctx context.Context, user string) (*slack.User, error) {
	var out *slack.User
	err := c.call(ctx, "users.info", func() error {
		var err error
		out, err = c.api.GetUserInfoContext(ctx, user)
		return err
	})
	return out, err
}

// LookupUserByEmail finds the Slack user with that email.
func (c *Client) LookupUserByEmail(ctx context.Context, email string) (*slack.User, error) {
	var out *slack.User
	err := c.call(ctx, "users.lookupByEmail", func() error {
		var err error
		out, err = c.api.GetUserByEmailContext(ctx, email)
		return err
	})
	return out, err
}

// Permalink returns a message's permalink.
func (c *Client) Permalink(ctx context.Context, channel, ts string) (string, error) {
	var out string
	err := c.call(ctx, "chat.getPermalink", func() error {
		var err error
		out, err = c.api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: channel, Ts: ts})
		return err
	})
	return out, err
}

// Unfurl attaches previews to links in a message.
func (c *Client) Unfurl(ctx context.Context, channel, ts string, unfurls map[string]slack.Attachment) error {
	return c.call(ctx, "chat.unfurl", func() error {
		_, _, _, err := c.api.UnfurlMessageContext(ctx, channel, ts, unfurls)
		return err
	})
}

// History lists recent messages with metadata, newest first.
func (c *Client) History(ctx context.Context, channel string, oldest time.Time, limit int) ([]slack.Message, error) {
	p := &slack.GetConversationHistoryParameters{ChannelID: channel, Limit: limit, IncludeAllMetadata: true}
	if !oldest.IsZero() {
		p.Oldest = strconv.FormatFloat(float64(oldest.UnixMicro())/1e6, 'f', 6, 64)
	}
	var out []slack.Message
	err := c.call(ctx, "conversations.history", func() error {
		r, err := c.api.GetConversationHistoryContext(ctx, p)
		if err == nil {
			out = r.Messages
		}
		return err
	})
	return out, err
}

// ConversationInfo describes a channel.
func (c *Client) ConversationInfo(ctx context.Context, channel string) (*slack.Channel, error) {
	var out *slack.Channel
	err := c.call(ctx, "conversations.info", func() error {
		var err error
		out, err = c.api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: channel})
		return err
	})
	return out, err
}

// ChannelMembers lists up to limit members of channel (conversations.members,
// a page of up to 1000 at a time).
func (c *Client) ChannelMembers(ctx context.Context, channel string, limit int) ([]string, bool, error) {
	var out []string
	cursor := ""
	for len(out) < limit {
		var page []string
		var next string
		err := c.call(ctx, "conversations.members", func() error {
			var err error
			page, next, err = c.api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{
				ChannelID: channel, Cursor: cursor, Limit: min(1000, limit-len(out)+1)})
			return err
		})
		if err != nil {
			return nil, false, err
		}
		out = append(out, page...)
		if next == "" {
			return out[:min(len(out), limit)], len(out) <= limit, nil
		}
		cursor = next
	}
	return out[:limit], false, nil
}

// maxThread bounds how much of a thread Replies reads.
const maxThread = 5000

// Replies returns a thread, parent first: every page of
// conversations.replies (up to maxThread messages).
func (c *Client) Replies(ctx context.Context, channel, threadTS string) ([]slack.Message, error) {
	var out []slack.Message
	seen := map[string]bool{} // Slack repeats the parent on every page
	cursor := ""
	for len(out) < maxThread {
		var page []slack.Message
		var next string
		err := c.call(ctx, "conversations.replies", func() error {
			msgs, _, nc, err := c.api.GetConversationRepliesContext(ctx, &slack.GetConversationRepliesParameters{
				ChannelID: channel, Timestamp: threadTS, Limit: 200, Cursor: cursor, IncludeAllMetadata: true})
			page, next = msgs, nc
			return err
		})
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			if !seen[m.Timestamp] {
				seen[m.Timestamp] = true
				out = append(out, m)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	return out, nil
}

// TeamName returns the workspace name (cached after the first success).
func (c *Client) TeamName(ctx context.Context) string {
	c.mu.Lock()
	if c.teamNameSet {
		defer c.mu.Unlock()
		return c.teamName
	}
	c.mu.Unlock()
	var name string
	err := c.call(ctx, "team.info", func() error {
		ti, err := c.api.GetTeamInfoContext(ctx)
		if err == nil {
			name = ti.Name
		}
		return err
	})
	if err != nil {
		c.log.WarnContext(ctx, "team.info failed", "err", err)
		return ""
	}
	c.mu.Lock()
	c.teamName, c.teamNameSet = name, true
	c.mu.Unlock()
	return name
}

// slackRate is messages per second.
type slackRate float64

// errorDetails are Slack's explanations of an error answer, at most a few.
func errorDetails(se slack.SlackErrorResponse) []string {
	d := se.ResponseMetadata.Messages
	if len(d) == 0 {
		for _, e := range se.Errors {
			if e.Message != nil {
				d = append(d, *e.Message)
			}
		}
	}
	if len(d) > 5 {
		d = d[:5]
	}
	return d
}

// UploadFile uploads f with files.uploadV2's three steps and shares it in
// channel. A 429 on any step retries the whole upload.
func (c *Client) UploadFile(ctx context.Context, channel, threadTS, comment string, f chat.File) (string, error) {
	if len(f.Content) == 0 {
		return "", errors.New("slack files.uploadV2: empty file")
	}
	var id string
	err := c.call(ctx, "files.uploadV2", func() error {
		sum, err := c.api.UploadFileContext(ctx, slack.UploadFileParameters{
			Reader: bytes.NewReader(f.Content), FileSize: len(f.Content), Filename: f.Name, Title: f.Title, AltTxt: f.AltText,
			Channel: channel, ThreadTimestamp: threadTS, InitialComment: comment,
		})
		if err != nil {
			return err
		}
		id = sum.ID
		return nil
	})
	return id, err
}
