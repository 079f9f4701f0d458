package demo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
)

// ErrFailed is returned by Run when a step of the tour did not produce what
// it should.
var ErrFailed = errors.New("demo: the tour failed")

// Options configure Run. The zero value plays the tour and returns.
type Options struct {
	Out io.Writer // the tour (default os.Stdout)
	// Log, when set, receives the bot's own logs (text, debug level).
	Log io.Writer
	// Interactive keeps the bot running after the tour and reads "/soe …"
	// lines from In as the Slack user of As.
	Interactive bool
	In          io.Reader
	As          string // SOE login of the interactive user (default alice)
	// ShowHTTP prints the local URLs (bot, fake Slack, fake SOE).
	ShowHTTP bool
	// PollInterval is the notification poll period (default 1s).
	PollInterval time.Duration
	// Wait bounds each expectation (default 10s).
	Wait time.Duration
	// Dir holds the database (default: a temporary folder, removed after).
	Dir string
}

// Run starts the fakes and the real bot, plays the tour and (with
// Interactive) a prompt. It returns ErrFailed (wrapped, saying which step)
// when a step's expectation was not met.
func Run(ctx context.Context, o Options) (err error) {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.In == nil {
		o.In = os.Stdin
	}
	if o.As == "" {
		o.As = "alice"
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.Wait <= 0 {
		o.Wait = 10 * time.Second
	}
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "soebot-demo-")
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		defer func() { _ = os.RemoveAll(dir) }() // best effort: a leftover temp dir harms nothing
		o.Dir = dir
	}
	logger := slog.New(slog.DiscardHandler)
	if o.Log != nil {
		logger = slog.New(slog.NewTextHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	start := time.Now()
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	e, err := e2e.Start(sctx, e2e.Options{Dir: o.Dir, Logger: logger, PollInterval: o.PollInterval})
	cancel()
	if err != nil {
		return fmt.Errorf("demo: starting the bot: %w", err)
	}
	defer func() {
		if cerr := e.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("demo: the bot stopped with an error: %w", cerr)
		}
	}()
	t := newTour(e, o)
	t.printf("soebot demo: the real bot, a fake Slack workspace (%s) and a fake Stack Overflow Enterprise, all on this machine.\n", e.Slack.TeamID())
	t.printf("Started and connected to Slack (Socket Mode) in %v.\n", time.Since(start).Round(time.Millisecond))
	if o.ShowHTTP {
		t.printf("\nLocal URLs (open them in a browser while the demo runs; add -interactive to keep it running):\n"+
			"  bot HTTP server  %s  (link pages /link/…, /healthz, /readyz, /metrics)\n"+
			"  fake Slack       %s  (Web API under /api/)\n"+
			"  fake SOE         %s  (a browser is signed in there as alice unless it has the cookie login=<name>;\n"+
			"                   in -interactive, :connect follows a Connect button as the -as user instead)\n",
			e.Config.PublicURL, e.Slack.URL(), e.SOE.URL())
	}
	terr := t.play(ctx, t.steps())
	if terr != nil {
		err = terr
	}
	if o.Interactive && ctx.Err() == nil {
		if ierr := t.interactive(ctx, o.In); ierr != nil && err == nil {
			err = ierr
		}
	}
	return err
}

// tour is one run of the scripted tour.
type tour struct {
	e   *e2e.Env
	o   Options
	r   Renderer
	out io.Writer

	mu    sync.Mutex
	names map[string]string

	// Carried between steps.
	pending    *slackfake.Sent // the command typed before linking
	connectURL string
	question   int             // a question found by search
	lastURL    string          // interactive: the last Connect/Reconnect button URL
	lastSent   *slackfake.Sent // and the command that showed it
}

func newTour(e *e2e.Env, o Options) *tour {
	t := &tour{e: e, o: o, out: o.Out, names: map[string]string{e.Slack.BotUserID(): "soebot", "UMALLORY": "mallory"}}
	for _, u := range e.SOE.Users() {
		t.names[e2e.SlackUser(u.Login)] = u.Login
	}
	t.r = Renderer{Name: func(id string) (string, bool) {
		t.mu.Lock()
		defer t.mu.Unlock()
		n, ok := t.names[id]
		return n, ok
	}}
	return t
}

// printf writes to the tour's output (the terminal); a failed write there
// has nowhere to be reported, and the tour's outcome is its return value.
func (t *tour) printf(format string, args ...any) { _, _ = fmt.Fprintf(t.out, format, args...) }

// name is how the tour calls a Slack user.
func (t *tour) name(id string) string {
	if n, ok := t.r.Name(id); ok {
		return n
	}
	return id
}

// channelName is "#general" for a channel id.
func channelName(id string) string {
	switch id {
	case e2e.General:
		return "#general"
	case e2e.Random:
		return "#random"
	case e2e.Private:
		return "#platform-private"
	case e2e.Secret:
		return "#secret"
	case e2e.Archived:
		return "#old"
	}
	return id
}

func (t *tour) wait(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, t.o.Wait)
}

// slash types "/soe text" as user in channel and checks the ack came in time.
func (t *tour) slash(ctx context.Context, user, channel, text string) (*slackfake.Sent, error) {
	t.printf("\n  %s types in %s:  /soe %s\n", t.name(user), channelName(channel), text)
	s, err := t.e.Slack.SlashCommand(user, channel, "/soe", text)
	if err != nil {
		return nil, fmt.Errorf("sending /soe %s: %w", text, err)
	}
	wctx, cancel := t.wait(ctx)
	defer cancel()
	ack, err := t.e.Slack.WaitAck(wctx, s.EnvelopeID)
	if err != nil {
		return nil, fmt.Errorf("/soe %s was not acknowledged: %w", text, err)
	}
	if d := ack.At.Sub(s.SentAt); d > 3*time.Second {
		return nil, fmt.Errorf("/soe %s was acknowledged after %v; Slack gives up after 3s", text, d)
	}
	return s, nil
}

// response waits for a reply to s containing every match and prints it.
func (t *tour) response(ctx context.Context, s *slackfake.Sent, match ...string) (slackfake.Message, error) {
	wctx, cancel := t.wait(ctx)
	defer cancel()
	m, err := t.e.Slack.WaitResponse(wctx, s.ResponseURL, match[0])
	if err != nil {
		var got []string
		for _, r := range t.e.Slack.Responses(s.ResponseURL) {
			got = append(got, t.r.Message(r))
		}
		return m, fmt.Errorf("no reply containing %q (replies so far: %q)", match[0], got)
	}
	t.show(m)
	return m, t.expect(t.r.Message(m)+"\n"+m.Text, match[1:]...)
}

// expect checks that text contains every want.
func (t *tour) expect(text string, want ...string) error {
	var missing []string
	for _, w := range want {
		if !strings.Contains(text, w) {
			missing = append(missing, fmt.Sprintf("%q", w))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("expected %s in:\n%s", strings.Join(missing, ", "), text)
	}
	return nil
}

// show prints a message the way its reader would see it.
func (t *tour) show(m slackfake.Message) {
	var where string
	switch {
	case m.InChannel && m.Kind != "message":
		// A response_url post shown to everyone: from the app, on behalf of
		// the user who ran the command.
		where = fmt.Sprintf("in %s, from soebot (%s used /soe; everyone in the channel sees this)", channelName(m.Channel), t.name(m.User))
	case m.InChannel || (!m.Ephemeral && m.Kind == "message"):
		who := "soebot"
		if m.User != "" && m.User != t.e.Slack.BotUserID() {
			who = t.name(m.User)
		}
		where = fmt.Sprintf("in %s, from %s (everyone in the channel sees this)", channelName(m.Channel), who)
		if strings.HasPrefix(m.Channel, "D") {
			where = fmt.Sprintf("DM from soebot to %s", t.name(strings.TrimPrefix(m.Channel, "D")))
		}
	default:
		where = "only visible to " + t.name(m.User)
		if m.User == "" {
			where = "only visible to the user"
		}
	}
	t.printf("%s", Box(where, t.r.Message(m)))
}

// showView prints a modal or Home tab.
func (t *tour) showView(heading string, v *slackfake.View) {
	t.printf("%s", Box(heading, t.r.View(v)))
}

// interactive reads "/soe …" lines and prints the replies, until EOF or ctx.
func (t *tour) interactive(ctx context.Context, in io.Reader) error {
	user := e2e.SlackUser(t.o.As)
	if _, ok := t.r.Name(user); !ok {
		return fmt.Errorf("demo: -as %q: no such demo user (try alice, bob, carol, dave, erin, frank, grace, heidi, ivan or judy)", t.o.As)
	}
	t.printf("\nInteractive: you are %s in #general. Type /soe commands (e.g. /soe help, /soe experts go),\n", t.o.As)
	t.printf(":connect to follow the last Connect button in the demo's browser, or :quit (Ctrl-D) to stop.\n")
	lines := make(chan string)
	done := make(chan struct{})
	defer close(done)
	// The reader may stay blocked on a terminal until the process exits.
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(in)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			case <-ctx.Done():
				return
			case <-done:
				return
			}
		}
	}()
	for {
		t.printf("%s> ", t.o.As)
		var line string
		var ok bool
		select {
		case <-ctx.Done():
			t.printf("\n")
			return nil
		case line, ok = <-lines:
		}
		if !ok {
			t.printf("\n")
			return nil
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case line == ":quit" || line == ":q" || line == "exit" || line == "quit":
			return nil
		case line == ":connect":
			if t.lastURL == "" {
				t.printf("No Connect button yet: run a command that needs Stack Overflow first (e.g. /soe whoami).\n")
				continue
			}
			var watch []*slackfake.Sent
			if t.lastSent != nil {
				watch = append(watch, t.lastSent)
			}
			sn := t.snapshot(user, watch)
			if err := t.connect(ctx, t.lastURL, t.o.As); err != nil {
				t.printf("connecting failed: %v\n", err)
			}
			t.lastURL, t.lastSent = "", nil
			t.printNew(ctx, user, sn, watch)
		case strings.HasPrefix(line, "/soe"):
			text := strings.TrimSpace(strings.TrimPrefix(line, "/soe"))
			sn := t.snapshot(user, nil)
			s, err := t.slashQuiet(ctx, user, e2e.General, text)
			if err != nil {
				t.printf("%v\n", err)
				continue
			}
			sn.responses[s.ResponseURL] = 0
			t.printNew(ctx, user, sn, []*slackfake.Sent{s})
		default:
			t.printf("Type a /soe command (e.g. /soe help), :connect or :quit.\n")
		}
	}
}

func (t *tour) slashQuiet(ctx context.Context, user, channel, text string) (*slackfake.Sent, error) {
	s, err := t.e.Slack.SlashCommand(user, channel, "/soe", text)
	if err != nil {
		return nil, err
	}
	wctx, cancel := t.wait(ctx)
	defer cancel()
	if _, err := t.e.Slack.WaitAck(wctx, s.EnvelopeID); err != nil {
		return nil, fmt.Errorf("not acknowledged: %w", err)
	}
	return s, nil
}

// seen is how much of what a user can see was already printed.
type seen struct {
	dms, channel int
	responses    map[string]int
	view         string
}

func (t *tour) snapshot(user string, watch []*slackfake.Sent) seen {
	sn := seen{dms: len(t.e.Slack.DMs(user)), channel: len(t.e.Slack.Messages(e2e.General)), responses: map[string]int{}}
	for _, s := range watch {
		sn.responses[s.ResponseURL] = len(t.e.Slack.Responses(s.ResponseURL))
	}
	if v := t.e.Slack.TopView(user); v != nil {
		sn.view = v.ID + v.Hash
	}
	return sn
}

// printNew prints what user sees after a command: replies to the watched
// commands, new DMs, new #general messages and a newly opened form, until
// nothing new came for a moment (or Wait passed with nothing at all).
func (t *tour) printNew(ctx context.Context, user string, sn seen, watch []*slackfake.Sent) {
	deadline := time.Now().Add(t.o.Wait)
	var quiet time.Time
	for time.Now().Before(deadline) && ctx.Err() == nil {
		got := false
		for _, s := range watch {
			rs := t.e.Slack.Responses(s.ResponseURL)
			for _, m := range rs[min(sn.responses[s.ResponseURL], len(rs)):] {
				t.show(m)
				t.remember(m, s)
				got = true
			}
			sn.responses[s.ResponseURL] = len(rs)
		}
		dms := t.e.Slack.DMs(user)
		for _, m := range dms[min(sn.dms, len(dms)):] {
			t.show(m)
			got = true
		}
		sn.dms = len(dms)
		ch := t.e.Slack.Messages(e2e.General)
		for _, m := range ch[min(sn.channel, len(ch)):] {
			t.show(m)
			got = true
		}
		sn.channel = len(ch)
		if v := t.e.Slack.TopView(user); v != nil && v.ID+v.Hash != sn.view {
			sn.view = v.ID + v.Hash
			t.showView("a form opens (this prompt cannot fill in forms)", v)
			got = true
		}
		if got {
			quiet = time.Now().Add(700 * time.Millisecond)
		}
		if !quiet.IsZero() && time.Now().After(quiet) {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// remember keeps the URL of a Connect/Reconnect button (and the command
// that showed it, answered after linking) for :connect.
func (t *tour) remember(m slackfake.Message, s *slackfake.Sent) {
	for _, label := range []string{"Connect", "Reconnect"} {
		if u := buttonURL(m.Blocks, label); u != "" {
			t.lastURL, t.lastSent = u, s
		}
	}
}
