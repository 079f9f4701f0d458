package slackapp

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"golang.org/x/time/rate"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
)

func newClient(t *testing.T, f *slackfake.Fake) *Client {
	t.Helper()
	api := slack.New(f.BotToken(), slack.OptionAPIURL(f.APIURL()))
	return NewClient(api, nil, slackRate(rate.Inf))
}

func TestClientHonoursRetryAfter(t *testing.T) {
	f := slackfake.New(slackfake.Options{})
	defer f.Close()
	f.AddChannel(slackfake.Channel{ID: "C1", Name: "general", Members: []string{f.BotUserID()}})
	c := newClient(t, f)
	f.RateLimit("chat.postMessage", 1, time.Second)
	start := time.Now()
	ts, err := c.Post(context.Background(), "C1", chat.Message{Text: "hello"})
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("retried after %v, before Retry-After", d)
	}
	if ts == "" || len(f.Messages("C1")) != 1 {
		t.Fatalf("want exactly one message, got %d", len(f.Messages("C1")))
	}
}

func TestClientMapsSlackErrors(t *testing.T) {
	f := slackfake.New(slackfake.Options{})
	defer f.Close()
	f.AddChannel(slackfake.Channel{ID: "CARCH", Name: "old", Archived: true, Members: []string{f.BotUserID()}})
	c := newClient(t, f)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"unknown channel", func() error { _, err := c.Post(ctx, "CNOPE", chat.Message{Text: "x"}); return err }, chat.ErrChannelGone},
		{"archived channel", func() error { _, err := c.Post(ctx, "CARCH", chat.Message{Text: "x"}); return err }, chat.ErrChannelGone},
		{"unknown user", func() error { _, err := c.UserInfo(ctx, "UNOPE"); return err }, chat.ErrUserNotFound},
		{"unknown email", func() error { _, err := c.LookupUserByEmail(ctx, "nobody@acme.example"); return err }, chat.ErrUserNotFound},
		{"stale trigger", func() error {
			_, err := c.OpenView(ctx, "1.2.nope", slack.ModalViewRequest{Type: slack.VTModal, Title: slack.NewTextBlockObject(slack.PlainTextType, "t", false, false)})
			return err
		}, chat.ErrTriggerExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var ce *chat.Error
			if !errors.As(err, &ce) || ce.Code == "" {
				t.Fatalf("err %v is not a *chat.Error", err)
			}
		})
	}
}

func TestClientPacesPostsPerChannel(t *testing.T) {
	f := slackfake.New(slackfake.Options{})
	defer f.Close()
	f.AddChannel(slackfake.Channel{ID: "C1", Name: "general", Members: []string{f.BotUserID()}})
	api := slack.New(f.BotToken(), slack.OptionAPIURL(f.APIURL()))
	c := NewClient(api, nil, slackRate(20)) // 20/s, burst 3
	start := time.Now()
	for range 7 {
		if _, err := c.Post(context.Background(), "C1", chat.Message{Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	// 3 at once, then 4 more at 20/s: at least ~200ms.
	if d := time.Since(start); d < 150*time.Millisecond {
		t.Fatalf("7 posts took %v: not paced", d)
	}
}

func TestDM(t *testing.T) {
	f := slackfake.New(slackfake.Options{})
	defer f.Close()
	f.AddUser(slackfake.User{ID: "UALICE", Name: "alice"})
	c := newClient(t, f)
	for range 2 {
		if _, _, err := c.DM(context.Background(), "UALICE", chat.Message{Text: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(f.DMs("UALICE")); n != 2 {
		t.Fatalf("%d DMs", n)
	}
	if n := len(f.Calls("conversations.open")); n != 1 {
		t.Fatalf("conversations.open called %d times, want 1 (cached)", n)
	}
}

func TestChannelMembersPages(t *testing.T) {
	f := slackfake.New(slackfake.Options{})
	defer f.Close()
	members := []string{f.BotUserID()}
	for i := range 2500 {
		members = append(members, "U"+strconv.Itoa(1000+i))
	}
	f.AddChannel(slackfake.Channel{ID: "C1", Name: "big", Members: members})
	f.AddChannel(slackfake.Channel{ID: "C2", Name: "secret", Private: true, Members: []string{"U1"}})
	c := newClient(t, f)
	ctx := context.Background()
	tests := []struct {
		name         string
		channel      string
		max          int
		wantN        int
		wantComplete bool
		wantErr      error
	}{
		{"all of them, three pages", "C1", 5000, 2501, true, nil},
		{"capped", "C1", 1200, 1200, false, nil},
		{"exactly all", "C1", 2501, 2501, true, nil},
		{"private, bot not a member", "C2", 10, 0, false, chat.ErrChannelGone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, complete, err := c.ChannelMembers(ctx, tt.channel, tt.max)
			if !errors.Is(err, tt.wantErr) || len(got) != tt.wantN || complete != tt.wantComplete {
				t.Fatalf("got %d, complete %v, err %v; want %d, %v, %v", len(got), complete, err, tt.wantN, tt.wantComplete, tt.wantErr)
			}
		})
	}
}

func TestUploadFileV2(t *testing.T) {
	f := slackfake.New(slackfake.Options{})
	defer f.Close()
	f.AddChannel(slackfake.Channel{ID: "C1", Name: "general", Members: []string{f.BotUserID()}})
	f.AddChannel(slackfake.Channel{ID: "C2", Name: "secret", Private: true})
	c := newClient(t, f)
	ctx := context.Background()
	png := []byte("\x89PNG fake bytes")
	id, err := c.UploadFile(ctx, "C1", "", "Weekly questions", chat.File{Name: "go.png", Title: "go: weekly", AltText: "a chart", Content: png})
	if err != nil || id == "" {
		t.Fatalf("upload: %q %v", id, err)
	}
	files := f.Files("C1")
	if len(files) != 1 || files[0].ID != id || string(files[0].Content) != string(png) || files[0].Title != "go: weekly" || files[0].AltText != "a chart" || files[0].Comment != "Weekly questions" {
		t.Fatalf("files in C1: %+v", files)
	}
	for _, m := range []string{"files.getUploadURLExternal", "files.completeUploadExternal"} {
		if len(f.Calls(m)) != 1 {
			t.Errorf("%s called %d times", m, len(f.Calls(m)))
		}
	}
	// Sharing where the bot cannot post fails like Slack, naming the code.
	if _, err := c.UploadFile(ctx, "C2", "", "", chat.File{Name: "x.png", Content: png}); !errors.Is(err, chat.ErrChannelGone) {
		t.Fatalf("upload to a channel the bot is not in: %v", err)
	}
	if _, err := c.UploadFile(ctx, "C1", "", "", chat.File{Name: "x.png"}); err == nil {
		t.Fatal("an empty file was uploaded")
	}
}
