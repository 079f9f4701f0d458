package replicas

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/cluster"
	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

// slash types "/soe text" and waits for the ack (within Slack's 3 s).
func (c *fleet) slash(t testing.TB, user, channel, text string) *slackfake.Sent {
	t.Helper()
	s, err := c.Slack.SlashCommand(user, channel, "/soe", text)
	if err != nil {
		t.Fatalf("/soe %s: %v", text, err)
	}
	ack, err := c.Slack.WaitAck(wait(t, 10*time.Second), s.EnvelopeID)
	if err != nil {
		t.Fatalf("/soe %s: no ack: %v", text, err)
	}
	if d := ack.At.Sub(s.SentAt); d > 3*time.Second {
		t.Fatalf("/soe %s: ack after %v", text, d)
	}
	return s
}

// sees waits for a reply to s containing match and returns it.
func (c *fleet) sees(t testing.TB, s *slackfake.Sent, match string) slackfake.Message {
	t.Helper()
	m, err := c.Slack.WaitResponse(wait(t, 15*time.Second), s.ResponseURL, match)
	if err != nil {
		t.Fatalf("waiting for %q: %v", match, err)
	}
	return m
}

// connect walks login's browser through the link page and SOE's consent.
func (c *fleet) connect(t testing.TB, linkURL, login string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	su, _ := url.Parse(c.SOE.URL())
	jar.SetCookies(su, []*http.Cookie{{Name: "login", Value: login, Path: "/"}})
	b := &http.Client{Jar: jar, Timeout: 15 * time.Second}
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		req, _ := http.NewRequestWithContext(t.Context(), method, linkURL, nil)
		resp, err := b.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, linkURL, err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s link page: %d\n%s", method, resp.StatusCode, body)
		}
		if method == http.MethodPost {
			return string(body)
		}
	}
	return ""
}

func (c *fleet) link(t testing.TB, login string) {
	t.Helper()
	m := c.sees(t, c.slash(t, e2e.SlackUser(login), e2e.General, "link"), "Connect your Stack Overflow account")
	if body := c.connect(t, slackfake.ButtonURL(m.Blocks, "Connect"), login); !strings.Contains(body, "Connected") {
		t.Fatalf("link page after consent:\n%s", body)
	}
	if _, err := c.Slack.WaitDM(wait(t, 15*time.Second), e2e.SlackUser(login), "Connected as"); err != nil {
		t.Fatalf("%s not connected: %v", login, err)
	}
}

// TestAnyReplicaServesAnything: three replicas, envelopes spread over their
// connections at random; every command is acked and answered exactly once,
// whichever replica gets it, from the shared database.
func TestAnyReplicaServesAnything(t *testing.T) {
	c := start(t, 3, time.Minute)
	c.link(t, "alice")
	const n = 24
	var sent []*slackfake.Sent
	for range n {
		sent = append(sent, c.slash(t, e2e.SlackUser("alice"), e2e.General, "experts kubernetes"))
	}
	conns := map[int]bool{}
	for _, s := range sent {
		c.sees(t, s, "Experts on kubernetes")
		conns[s.Conn] = true
	}
	time.Sleep(300 * time.Millisecond) // a duplicate answer would arrive by now
	for _, s := range sent {
		if got := len(c.Slack.Responses(s.ResponseURL)); got != 1 {
			t.Errorf("envelope %s (connection %d): %d answers, want 1", s.EnvelopeID, s.Conn, got)
		}
	}
	if len(conns) < 2 {
		t.Errorf("all %d commands went to one connection; the fake should spread them", n)
	}
}

// TestLinkStartedOnOneReplicaFinishedOnAnother: the Connect button's page is
// served by one replica and SOE's callback lands on another; the link state,
// PKCE verifier and browser binding all come from the database.
func TestLinkStartedOnOneReplicaFinishedOnAnother(t *testing.T) {
	c := start(t, 2, time.Minute)
	ids := c.ids()
	c.mu.Lock()
	c.route = func(r *http.Request) string {
		if strings.HasPrefix(r.URL.Path, "/oauth/callback") {
			return ids[1]
		}
		return ids[0]
	}
	c.mu.Unlock()
	s := c.slash(t, e2e.SlackUser("bob"), e2e.General, "whoami")
	m := c.sees(t, s, "Connect your Stack Overflow account")
	body := c.connect(t, slackfake.ButtonURL(m.Blocks, "Connect"), "bob")
	if !strings.Contains(body, "Connected") {
		t.Fatalf("callback on the other replica:\n%s", body)
	}
	// The command typed before linking is answered after it.
	if _, err := c.Slack.WaitResponse(wait(t, 15*time.Second), s.ResponseURL, "bob"); err != nil {
		t.Fatalf("pending command not replayed: %v", err)
	}
}

// leader is the replica holding the poller lease.
func (c *fleet) leader(t *testing.T) string {
	t.Helper()
	h := c.holder(t)
	if h == "" {
		t.Fatal("no poller leader")
	}
	return h
}

// holder is the unexpired holder of the poller lease, or "".
func (c *fleet) holder(t *testing.T) string {
	t.Helper()
	db, err := app.OpenStorage(context.Background(), c.dbURL, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	holder, until, err := cluster.Current(context.Background(), db, "notify")
	if err != nil {
		t.Fatal(err)
	}
	if time.Now().After(until) {
		return ""
	}
	return holder
}

// TestPollerLeaderKilledMidBatch: the replica that polls and delivers is
// SIGKILLed while it posts a batch of cards; another takes over within two
// poll intervals and every question reaches the channel exactly once.
func TestPollerLeaderKilledMidBatch(t *testing.T) {
	const interval = 2 * time.Second
	c := start(t, 3, interval)
	c.link(t, "alice")
	c.sees(t, c.slash(t, e2e.SlackUser("alice"), e2e.General, "subscribe go"), "subscribed this channel")
	time.Sleep(2 * interval) // the subscription's start is polled once
	c.Slack.SetLatency("chat.postMessage", 400*time.Millisecond)
	const n = 8
	judy := c.SOE.UserByName("judy").ID
	var titles []string
	for i := range n {
		title := "How do we pin Go toolchains, take " + string(rune('A'+i)) + "?"
		titles = append(titles, title)
		c.SOE.AddQuestion(soe.MainSite(), judy, title, "We keep drifting.", "go")
	}
	if _, err := c.Slack.WaitMessage(wait(t, 30*time.Second), e2e.General, "How do we pin Go toolchains"); err != nil {
		t.Fatalf("no first card: %v", err)
	}
	victim := c.leader(t)
	c.kill(victim)
	killed := time.Now()
	var takeover time.Duration
	for takeover == 0 && time.Since(killed) < 10*interval {
		if h := c.holder(t); h != "" && h != victim {
			takeover = time.Since(killed)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if takeover == 0 || takeover > 2*interval {
		t.Errorf("takeover after %v, want within 2 poll intervals (%v)", takeover, 2*interval)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) && countCards(c, titles) < n {
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(killed)
	for _, title := range titles {
		if got := cardsFor(c, title); got != 1 {
			t.Errorf("%q posted %d times, want once", title, got)
		}
	}
	if after := c.leader(t); after == victim {
		t.Errorf("the dead replica %s still holds the lease", victim)
	}
	t.Logf("leader %s killed; new leader after %v; all %d cards delivered %v later", victim, takeover.Round(10*time.Millisecond), n, took.Round(10*time.Millisecond))
}

func cardsFor(c *fleet, title string) int {
	n := 0
	for _, m := range c.Slack.Messages(e2e.General) {
		if m.MetadataType == "soe_event" && strings.Contains(m.Text+slackfake.Flatten(m.Blocks), title) {
			n++
		}
	}
	return n
}

func countCards(c *fleet, titles []string) int {
	n := 0
	for _, title := range titles {
		if cardsFor(c, title) > 0 {
			n++
		}
	}
	return n
}

// TestDatabaseRestart: while PostgreSQL is down, replicas are not ready and
// a command is told to try again; when it is back they recover by themselves,
// and the questions asked around the outage reach the channel exactly once.
func TestDatabaseRestart(t *testing.T) {
	const interval = time.Second
	c := start(t, 2, interval)
	c.link(t, "alice")
	c.sees(t, c.slash(t, e2e.SlackUser("alice"), e2e.General, "subscribe go"), "subscribed this channel")
	time.Sleep(2 * interval) // the subscription's start is polled once
	judy := c.SOE.UserByName("judy").ID
	titles := []string{"Before the outage: go vet in CI?", "During the outage: go test caching?"}
	c.SOE.AddQuestion(soe.MainSite(), judy, titles[0], "Body.", "go")
	c.PG.Stop(t)
	c.SOE.AddQuestion(soe.MainSite(), judy, titles[1], "Body.", "go")
	s := c.slash(t, e2e.SlackUser("alice"), e2e.General, "experts kubernetes")
	c.sees(t, s, "cannot reach my database")
	for _, id := range c.ids() {
		if ready(c.replicas[id].addr) {
			t.Errorf("replica %s reports ready while the database is down", id)
		}
	}
	time.Sleep(2 * interval) // poll cycles fail meanwhile
	c.PG.Restart(t)
	recovered := false
	for deadline := time.Now().Add(30 * time.Second); !recovered && time.Now().Before(deadline); {
		s = c.slash(t, e2e.SlackUser("alice"), e2e.General, "experts kubernetes")
		m, err := c.Slack.WaitResponse(wait(t, 10*time.Second), s.ResponseURL, "")
		recovered = err == nil && strings.Contains(m.Text+slackfake.Flatten(m.Blocks), "Experts on kubernetes")
		if !recovered {
			time.Sleep(500 * time.Millisecond)
		}
	}
	if !recovered {
		t.Fatal("no replica recovered after PostgreSQL came back")
	}
	for deadline := time.Now().Add(30 * time.Second); countCards(c, titles) < len(titles) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * interval) // a duplicate would be posted by now
	for _, title := range titles {
		if got := cardsFor(c, title); got != 1 {
			t.Errorf("%q posted %d times, want once", title, got)
		}
	}
}

// TestSlackRetryOnAnotherReplicaIsDropped: Slack re-sends an event (same
// event_id, retry_attempt > 0) and may give it to another replica's
// connection; the shared seen-events table lets exactly one replica handle it.
func TestSlackRetryOnAnotherReplicaIsDropped(t *testing.T) {
	c := start(t, 3, time.Minute)
	var mu sync.Mutex
	publishes := 0
	c.Slack.SetCallObserver(func(call slackfake.Call) {
		if call.Method == "views.publish" {
			mu.Lock()
			publishes++
			mu.Unlock()
		}
	})
	count := func() int { mu.Lock(); defer mu.Unlock(); return publishes }
	user := e2e.SlackUser("alice")
	ev := map[string]any{"user": user, "channel": "D" + user[1:], "tab": "home"}
	first, err := c.Slack.EventWithID("Ev0RETRY1", "app_home_opened", ev, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Slack.WaitHome(wait(t, 15*time.Second), user, "Stack Overflow"); err != nil {
		t.Fatalf("no Home: %v", err)
	}
	time.Sleep(time.Second)
	once := count()
	conns := map[int]bool{first.Conn: true}
	for attempt := 1; attempt <= 6; attempt++ {
		s, err := c.Slack.EventWithID("Ev0RETRY1", "app_home_opened", ev, attempt)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Slack.WaitAck(wait(t, 10*time.Second), s.EnvelopeID); err != nil {
			t.Fatalf("retry %d not acked: %v", attempt, err)
		}
		conns[s.Conn] = true
	}
	time.Sleep(time.Second)
	if got := count(); got != once {
		t.Errorf("views.publish calls: %d after the first delivery, %d after 6 retries; want no more", once, got)
	}
	if len(conns) < 2 {
		t.Logf("every delivery went to one connection; only the in-memory dedupe was exercised")
	}
}

// TestRollingRestart replaces every replica, one at a time (start the new
// one, SIGTERM the old one), while commands keep coming: every command is
// acked and answered exactly once.
func TestRollingRestart(t *testing.T) {
	c := start(t, 3, time.Minute)
	c.link(t, "alice")
	stop := make(chan struct{})
	var sent []*slackfake.Sent
	var sendErr error
	var wg sync.WaitGroup
	wg.Go(func() { // typed commands, 50 a second, while replicas come and go
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			s, err := c.Slack.SlashCommand(e2e.SlackUser("alice"), e2e.General, "/soe", "experts kubernetes")
			if err != nil {
				sendErr = err
				return
			}
			sent = append(sent, s)
		}
	})
	for _, old := range c.ids() {
		c.add()
		c.stop(old)
	}
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if sendErr != nil {
		t.Fatalf("typing a command: %v", sendErr)
	}
	// A command Slack writes to a connection in the instant its replica
	// closes it is lost, as with Slack itself: the socket is gone before the
	// envelope is read, and slash commands are not retried. Only such
	// commands may go unacked: at most one per replica stopped, each sent to
	// a connection that is closed now. Every other one is acked in time and
	// answered exactly once.
	live := map[int]bool{}
	for _, id := range c.Slack.ConnIDs() {
		live[id] = true
	}
	lost := map[string]bool{}
	for _, s := range sent {
		ack, err := c.Slack.WaitAck(wait(t, 10*time.Second), s.EnvelopeID)
		if err != nil {
			if live[s.Conn] || len(lost) >= 3 {
				t.Fatalf("command %s (connection %d) never acked: %v", s.EnvelopeID, s.Conn, err)
			}
			t.Logf("command %s went to connection %d as it closed", s.EnvelopeID, s.Conn)
			lost[s.EnvelopeID] = true
			continue
		}
		if d := ack.At.Sub(s.SentAt); d > 3*time.Second {
			t.Errorf("command %s acked after %v", s.EnvelopeID, d)
		}
		c.sees(t, s, "Experts on kubernetes")
	}
	time.Sleep(300 * time.Millisecond)
	for _, s := range sent {
		if got, want := len(c.Slack.Responses(s.ResponseURL)), 1; got != want && !(lost[s.EnvelopeID] && got == 0) {
			t.Errorf("command %s: %d answers, want %d", s.EnvelopeID, got, want)
		}
	}
	t.Logf("%d commands across a rolling restart of 3 replicas", len(sent))
}
