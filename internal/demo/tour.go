package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
)

// step is one scene of the tour. It runs only when the build has the
// subcommands and events it needs (features land one by one).
type step struct {
	title   string
	needs   []string // "/soe <name>" subcommands or "event:<type>"
	run     func(ctx context.Context) error
	checked string // what was checked, printed after ✓
}

// play runs the steps in order and stops at the first failure.
func (t *tour) play(ctx context.Context, steps []step) error {
	n := 0
	for _, s := range steps {
		if missing := t.missing(s.needs); len(missing) > 0 {
			t.printf("\n── (skipped: %s — this build has no %s)\n", s.title, strings.Join(missing, ", "))
			continue
		}
		n++
		t.printf("\n━━ %d. %s\n", n, s.title)
		if err := s.run(ctx); err != nil {
			t.printf("\n  ✗ FAILED: %v\n", err)
			t.printf("\nThe tour stopped at step %d. Run with -v to see the bot's logs.\n", n)
			return fmt.Errorf("%w: step %d (%s): %w", ErrFailed, n, s.title, err)
		}
		t.printf("  ✓ %s\n", s.checked)
	}
	t.printf("\nAll %d steps of the tour did what they should.\n", n)
	return nil
}

// missing lists the needs the running bot does not handle.
func (t *tour) missing(needs []string) []string {
	bot := t.e.App.Parts.Router
	events := bot.Handles().Events
	var out []string
	for _, n := range needs {
		if ev, ok := strings.CutPrefix(n, "event:"); ok {
			if !slices.Contains(events, ev) {
				out = append(out, ev+" events")
			}
			continue
		}
		if !bot.HasSubcommand(n) {
			out = append(out, "/soe "+n)
		}
	}
	return out
}

func (t *tour) steps() []step {
	alice := e2e.SlackUser("alice")
	// The command typed before linking: experts when this build has it,
	// else whoami (both need the user's own SOE token).
	firstCmd, firstAnswer := "whoami", "Your Stack Overflow connections"
	if t.e.App.Parts.Router.HasSubcommand("experts") {
		firstCmd, firstAnswer = "experts kubernetes", "Experts on kubernetes"
	}
	return []step{{
		title: "Colleagues who already use soebot",
		needs: []string{"link"},
		run: func(ctx context.Context) error {
			t.printf("  bob, carol and dave connected their Stack Overflow accounts earlier (the same flow as alice's below, not shown),\n")
			t.printf("  so soebot can mention them in Slack when Stack Overflow names them.\n")
			for _, login := range []string{"bob", "carol", "dave"} {
				if err := t.linkQuietly(ctx, login); err != nil {
					return fmt.Errorf("linking %s: %w", login, err)
				}
			}
			return nil
		},
		checked: "bob, carol and dave are connected",
	}, {
		title: "/soe help",
		run: func(ctx context.Context) error {
			s, err := t.slash(ctx, alice, e2e.General, "help")
			if err != nil {
				return err
			}
			m, err := t.response(ctx, s, "/soe help")
			if err != nil {
				return err
			}
			if m.InChannel {
				return errors.New("help was posted in the channel; it must be visible only to alice")
			}
			return nil
		},
		checked: "help lists the commands, visible only to alice",
	}, {
		title: "Before linking: /soe " + firstCmd + " offers to connect",
		needs: []string{"link"},
		run: func(ctx context.Context) error {
			s, err := t.slash(ctx, alice, e2e.General, firstCmd)
			if err != nil {
				return err
			}
			m, err := t.response(ctx, s, "Connect your Stack Overflow account", "I will finish your command once you are connected")
			if err != nil {
				return err
			}
			if t.connectURL = buttonURL(m.Blocks, "Connect"); t.connectURL == "" {
				return errors.New("the reply has no Connect button with a URL")
			}
			if !strings.HasPrefix(t.connectURL, t.e.Config.PublicURL+"/link/") {
				return fmt.Errorf("the Connect button points to %s, not to the bot's own link page", redact(t.connectURL))
			}
			t.pending = s
			return nil
		},
		checked: "alice is asked to connect (privately), with a one-time link to the bot's own page",
	}, {
		title: "Linking: alice clicks Connect",
		needs: []string{"link"},
		run: func(ctx context.Context) error {
			if err := t.connect(ctx, t.connectURL, "alice"); err != nil {
				return err
			}
			wctx, cancel := t.wait(ctx)
			defer cancel()
			dm, err := t.e.Slack.WaitDM(wctx, alice, "Connected as Alice Anderson")
			if err != nil {
				return fmt.Errorf("no DM saying \"Connected as Alice Anderson\": %w", err)
			}
			t.printf("\n  In Slack:\n")
			t.show(dm)
			return nil
		},
		checked: "the browser flow ends on \"Connected\" and soebot confirms by DM",
	}, {
		title: "The pending /soe " + firstCmd + " is answered automatically",
		needs: []string{"link"},
		run: func(ctx context.Context) error {
			want := []string{firstAnswer}
			if firstCmd != "whoami" {
				want = append(want, "@alice", "@bob", "@carol", "@dave", "Share in channel")
			} else {
				want = append(want, "Alice Anderson")
			}
			_, err := t.response(ctx, t.pending, want...)
			return err
		},
		checked: "alice gets her answer without typing the command again; the experts are mentioned",
	}, {
		title: "Share in channel",
		needs: []string{"experts"},
		run: func(ctx context.Context) error {
			wctx, cancel := t.wait(ctx)
			defer cancel()
			// The message as the fake Slack holds it now (needed to click on it).
			cur, err := t.e.Slack.WaitEphemeral(wctx, alice, "Share in channel")
			if err != nil {
				return fmt.Errorf("the answer with a Share button is not shown to alice: %w", err)
			}
			t.printf("\n  alice clicks [Share in channel]\n")
			s, err := t.e.Slack.BlockAction(alice, e2e.General, &cur, "experts_share", "", "")
			if err != nil {
				return err
			}
			if _, err := t.e.Slack.WaitAck(wctx, s.EnvelopeID); err != nil {
				return fmt.Errorf("the click was not acknowledged: %w", err)
			}
			m, err := t.e.Slack.WaitMessage(wctx, e2e.General, "Shared by")
			if err != nil {
				return fmt.Errorf("nothing was posted in #general: %w", err)
			}
			t.show(m)
			return t.expect(t.r.Message(m), "Experts on kubernetes", "@bob", "Shared by @alice")
		},
		checked: "the answer is posted in #general by soebot, so the experts are notified",
	}, {
		title: "/soe ask: a question through a form",
		needs: []string{"ask"},
		run:   t.askStep,
		checked: "the modal opened before any Stack Overflow call, the question is on Stack Overflow as alice's, " +
			"and the experts heard of it",
	}, {
		title: "/soe search",
		needs: []string{"search"},
		run: func(ctx context.Context) error {
			s, err := t.slash(ctx, alice, e2e.General, "search kubernetes")
			if err != nil {
				return err
			}
			m, err := t.response(ctx, s, "Results 1–", "kubernetes")
			if err != nil {
				return err
			}
			if t.question = firstQuestionID(m); t.question == 0 {
				return errors.New("the results link to no question")
			}
			return nil
		},
		checked: "search results from Stack Overflow, as alice sees them, with paging",
	}, {
		title: "A Stack Overflow link posted in a channel unfurls",
		needs: []string{"event:link_shared"},
		run: func(ctx context.Context) error {
			if t.question == 0 {
				return errors.New("no question to link to (the search step found none)")
			}
			bob := e2e.SlackUser("bob")
			link := fmt.Sprintf("%s/questions/%d", t.e.SOE.URL(), t.question)
			msg := t.e.Slack.PostAsUser(bob, e2e.General, "Has anyone seen this? "+link, "")
			t.printf("\n  bob posts in #general:  Has anyone seen this? %s\n", link)
			s, err := t.e.Slack.LinkShared(bob, e2e.General, msg.TS, []string{link})
			if err != nil {
				return err
			}
			wctx, cancel := t.wait(ctx)
			defer cancel()
			if _, err := t.e.Slack.WaitAck(wctx, s.EnvelopeID); err != nil {
				return fmt.Errorf("link_shared was not acknowledged: %w", err)
			}
			raw, err := t.e.Slack.WaitUnfurl(wctx, e2e.General, msg.TS, link)
			if err != nil {
				return fmt.Errorf("the link was not unfurled: %w", err)
			}
			var att struct {
				Blocks json.RawMessage `json:"blocks"`
				Text   string          `json:"text"`
			}
			_ = json.Unmarshal(raw, &att)
			text := t.r.Blocks(att.Blocks)
			if text == "" {
				text = t.r.Mrkdwn(att.Text)
			}
			t.printf("%s", Box("preview under bob's message", text))
			return t.expect(text, fmt.Sprint(t.question))
		},
		checked: "the question is previewed under bob's message",
	}, {
		title: "App Home",
		needs: []string{"event:app_home_opened"},
		run: func(ctx context.Context) error {
			t.printf("\n  alice opens soebot's Home tab\n")
			if _, err := t.e.Slack.AppHomeOpened(alice); err != nil {
				return err
			}
			wctx, cancel := t.wait(ctx)
			defer cancel()
			v, err := t.e.Slack.WaitHome(wctx, alice, "Alice Anderson")
			if err != nil {
				return fmt.Errorf("the Home tab does not show alice's connection: %w", err)
			}
			t.showView("Home tab of alice", v)
			return nil
		},
		checked: "the Home tab shows alice's connection",
	}, {
		title:   "/soe subscribe go: new answers arrive in the channel",
		needs:   []string{"subscribe"},
		run:     t.subscribeStep,
		checked: "the channel is subscribed and the new answer is posted there by the poller",
	}, {
		title: "/soe whoami",
		needs: []string{"whoami"},
		run: func(ctx context.Context) error {
			s, err := t.slash(ctx, alice, e2e.General, "whoami")
			if err != nil {
				return err
			}
			_, err = t.response(ctx, s, "Your Stack Overflow connections", "Alice Anderson", "read-write")
			return err
		},
		checked: "alice sees which account soebot acts as, and with what access",
	}, {
		title: "/soe unlink",
		needs: []string{"unlink"},
		run: func(ctx context.Context) error {
			s, err := t.slash(ctx, alice, e2e.General, "unlink")
			if err != nil {
				return err
			}
			if _, err := t.response(ctx, s, "Disconnected your Stack Overflow account"); err != nil {
				return err
			}
			ls, err := t.e.App.Parts.Links.Links(ctx, t.e.Slack.TeamID(), alice)
			if err != nil {
				return err
			}
			if len(ls) != 0 {
				return fmt.Errorf("alice still has %d stored connection(s)", len(ls))
			}
			return nil
		},
		checked: "alice's connection (and token) is gone from the bot",
	}}
}

// linkQuietly links login's Slack user to their SOE account through the
// real flow (/soe link, the link page, SOE, the callback) without printing.
func (t *tour) linkQuietly(ctx context.Context, login string) error {
	user := e2e.SlackUser(login)
	s, err := t.e.Slack.SlashCommand(user, e2e.General, "/soe", "link")
	if err != nil {
		return err
	}
	wctx, cancel := t.wait(ctx)
	defer cancel()
	m, err := t.e.Slack.WaitResponse(wctx, s.ResponseURL, "Connect")
	if err != nil {
		return fmt.Errorf("no Connect prompt: %w", err)
	}
	u := buttonURL(m.Blocks, "Connect")
	if u == "" {
		return errors.New("no Connect button")
	}
	saved := t.out
	t.out = discard{}
	defer func() { t.out = saved }()
	if err := t.connect(ctx, u, login); err != nil {
		return err
	}
	if _, err := t.e.Slack.WaitDM(wctx, user, "Connected as"); err != nil {
		return fmt.Errorf("no DM saying \"Connected as\": %w", err)
	}
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// connect walks the browser part of linking as login and prints each page:
// the bot's link page → Continue → SOE consent → the bot's callback page.
func (t *tour) connect(ctx context.Context, linkURL, login string) error {
	b, err := newBrowser(t.e.SOE.URL(), login)
	if err != nil {
		return err
	}
	h, err := b.do(ctx, http.MethodGet, linkURL, nil)
	if err != nil {
		return err
	}
	if h.Status != http.StatusOK {
		return fmt.Errorf("the link page answered %d (%s)", h.Status, h.Page.Title)
	}
	t.printf("\n  %s opens the Connect link in a browser: %s\n", login, redact(linkURL))
	t.printf("%s", Box("web page: "+h.Page.Title, strings.Join(h.Page.Text, "\n")+"\n[Continue]"))
	method, action, form, ok := h.Page.submit("Continue")
	if !ok {
		return errors.New("the link page has no Continue button")
	}
	h, err = b.do(ctx, method, action, form)
	if err != nil {
		return err
	}
	if h.Location == "" || !strings.HasPrefix(h.Location, t.e.SOE.URL()+"/") {
		return fmt.Errorf("[Continue] did not lead to Stack Overflow (status %d, %q)", h.Status, h.Page.Title)
	}
	t.printf("  %s clicks [Continue] → redirected to Stack Overflow: %s\n", login, redact(h.Location))
	if u, err := url.Parse(h.Location); err == nil {
		if sc := u.Query().Get("scope"); sc != "" {
			t.printf("    soebot asks for: %s (PKCE, one-time state bound to this browser)\n", strings.Join(strings.FieldsFunc(sc, func(r rune) bool { return r == ',' || r == ' ' }), ", "))
		}
	}
	h, err = b.do(ctx, http.MethodGet, h.Location, nil)
	if err != nil {
		return err
	}
	switch {
	case h.Status == http.StatusOK:
		t.printf("%s", Box("Stack Overflow: "+h.Page.Title, strings.Join(h.Page.Text, "\n")+"\n[Approve] [Deny]"))
		method, action, form, ok := h.Page.submit("Approve")
		if !ok {
			return fmt.Errorf("the Stack Overflow page %q has no Approve button", h.Page.Title)
		}
		t.printf("  %s clicks [Approve]\n", login)
		if h, err = b.do(ctx, method, action, form); err != nil {
			return err
		}
	case h.Location != "":
		t.printf("  Stack Overflow consent: %s is signed in there and approves (the fake SOE auto-approves) → back to soebot\n", login)
	default:
		return fmt.Errorf("unexpected answer %d from Stack Overflow (%s)", h.Status, h.Page.Title)
	}
	if !strings.HasPrefix(h.Location, t.e.Config.PublicURL+"/oauth/callback") {
		return fmt.Errorf("after consent, Stack Overflow did not send the browser back to soebot's callback (status %d, %q)", h.Status, h.Page.Title)
	}
	t.printf("  → %s\n", redact(h.Location))
	h, err = b.do(ctx, http.MethodGet, h.Location, nil)
	if err != nil {
		return err
	}
	t.printf("%s", Box("web page: "+h.Page.Title, strings.Join(h.Page.Text, "\n")))
	if h.Status != http.StatusOK || h.Page.Title == "" || !strings.HasPrefix(h.Page.Title, "Connected") {
		return fmt.Errorf("the callback page says %q (status %d): %s", h.Page.Title, h.Status, strings.Join(h.Page.Text, " "))
	}
	return nil
}

// buttonURL returns the URL of the first button labelled label in blocks.
func buttonURL(blocks json.RawMessage, label string) string {
	return slackfake.ButtonURL(blocks, label)
}

var reQuestionURL = regexp.MustCompile(`/questions/(\d+)`)

// firstQuestionID finds the first question linked from m.
func firstQuestionID(m slackfake.Message) int {
	sm := reQuestionURL.FindStringSubmatch(string(m.Blocks))
	if sm == nil {
		return 0
	}
	var id int
	_, _ = fmt.Sscan(sm[1], &id)
	return id
}
