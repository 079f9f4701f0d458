package e2e

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/soe"
)

// Stack Overflow for Teams Basic/Business: the fake SOE is the team "acme"
// on a Basic/Business site (API under /v3/teams/acme, no OAuth), the bot is
// configured with SOE_URL …/c/acme and people connect with a personal access
// token pasted into the bot's own link page.

const bbTeam = "acme"

func bbBot(t *testing.T, mods ...func(*Options)) *Env {
	t.Helper()
	return bot(t, append([]func(*Options){func(o *Options) { o.BasicBusiness = bbTeam }}, mods...)...)
}

// pastePAT opens linkURL in a fresh browser, checks the PAT page and posts
// token (write: the "I ticked Enable write access" box). It returns the
// answer page.
func (e *Env) pastePAT(t *testing.T, linkURL, token string, write bool) (int, string) {
	t.Helper()
	if !strings.HasPrefix(linkURL, e.Config.PublicURL+"/link/") {
		t.Fatalf("button URL %q is not under PUBLIC_URL", linkURL)
	}
	c := &http.Client{Timeout: 10 * time.Second}
	status, body := fetch(t, c, http.MethodGet, linkURL)
	if status != http.StatusOK {
		t.Fatalf("PAT page: %d\n%s", status, body)
	}
	for _, w := range []string{"Personal access tokens", "Account settings", "Enable write access", `type="password"`, `method="post"`, "Acme"} {
		if !strings.Contains(body, w) {
			t.Fatalf("PAT page lacks %q:\n%s", w, body)
		}
	}
	return e.postPAT(t, c, linkURL, token, write)
}

// postPAT sends the PAT form as the page does (a same-origin POST).
func (e *Env) postPAT(t *testing.T, c *http.Client, linkURL, token string, write bool) (int, string) {
	t.Helper()
	form := url.Values{"token": {token}}
	if write {
		form.Set("write", "yes")
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, linkURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.Config.PublicURL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, b.String()
}

// linkPAT connects login with a new PAT (with write access when write) and
// returns the Slack user and the token.
func (e *Env) linkPAT(t *testing.T, login string, write bool) (string, string) {
	t.Helper()
	user := SlackUser(login)
	pat := e.SOE.MintPAT(e.soeUser(login), write)
	m := e.sees(t, e.slash(t, user, General, "link"), "Connect your Stack Overflow account", "personal access token")
	if status, body := e.pastePAT(t, buttonURL(t, m, "Connect"), pat, write); status != http.StatusOK || !strings.Contains(body, "Connected") {
		t.Fatalf("after pasting the PAT: %d\n%s", status, body)
	}
	if _, err := e.Slack.WaitDM(wait(t), user, "Connected as"); err != nil {
		t.Fatalf("%s not connected: %v", login, err)
	}
	_, _ = e.Slack.WaitHome(wait(t), user, "Stack Overflow")
	return user, pat
}

func TestBasicBusinessConfiguration(t *testing.T) {
	e := bbBot(t)
	if e.Config.SOETeam != bbTeam || !strings.HasSuffix(e.Config.SOEAPIURL, "/v3/teams/"+bbTeam) || e.Config.SOEClientID != "" {
		t.Fatalf("config: team %q api %q client %q", e.Config.SOETeam, e.Config.SOEAPIURL, e.Config.SOEClientID)
	}
	alice := SlackUser("alice")
	help := e.sees(t, e.slash(t, alice, General, "help"), "/soe help", "Stack Overflow for Teams")
	if strings.Contains(flat(help), "team <slug>") {
		t.Errorf("help offers private teams:\n%s", flat(help))
	}
	// No private teams inside a Basic/Business team: a clear reply, no SOE call.
	before := len(e.SOE.Requests())
	for _, text := range []string{"experts kubernetes team platform", "link team platform", "search team platform etcd",
		"subscribe go team platform", "config team platform", "unlink team platform"} {
		e.sees(t, e.slash(t, alice, General, text), "not available on Stack Overflow for Teams Basic/Business")
	}
	// "team" inside a search query is a word of the query.
	e.sees(t, e.slash(t, alice, General, "search how does my team deploy today"), "Connect your Stack Overflow account")
	if n := len(e.SOE.Requests()) - before; n != 0 {
		t.Errorf("%d SOE requests for refused commands", n)
	}
}

func TestBasicBusinessLinkWithPAT(t *testing.T) {
	e := bbBot(t)
	alice := SlackUser("alice")
	first := e.slash(t, alice, General, "whoami")
	m := e.sees(t, first, "Connect your Stack Overflow account", "paste a personal access token")
	link := buttonURL(t, m, "Connect")

	// A mistyped token shows the form again; the link stays usable.
	c := &http.Client{Timeout: 10 * time.Second}
	status, body := e.postPAT(t, c, link, "not-a-real-token", true)
	if status != http.StatusBadRequest || !strings.Contains(body, "did not accept this token") || !strings.Contains(body, `type="password"`) {
		t.Fatalf("wrong token: %d\n%s", status, body)
	}
	if status, body := e.postPAT(t, c, link, "", true); status != http.StatusBadRequest || !strings.Contains(body, "Paste your personal access token") {
		t.Fatalf("empty token: %d\n%s", status, body)
	}
	// A form from another site is refused.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, link, strings.NewReader("token=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site POST: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}

	pat := e.SOE.MintPAT(e.soeUser("alice"), true)
	status, body = e.pastePAT(t, link, pat, true)
	if status != http.StatusOK || !strings.Contains(body, "Connected as Alice Anderson") || strings.Contains(body, pat) {
		t.Fatalf("after pasting: %d\n%s", status, body)
	}
	dm, err := e.Slack.WaitDM(wait(t), alice, "Connected as Alice Anderson (read-write requested")
	if err != nil {
		t.Fatalf("no DM: %v\nDMs: %s", err, dump(e.Slack.DMs(alice)))
	}
	if strings.Contains(flat(dm), pat) {
		t.Fatal("the token was sent to Slack")
	}
	// The pending command is answered automatically.
	if _, err := e.Slack.WaitResponse(wait(t), first.ResponseURL, "Your Stack Overflow connections"); err != nil {
		t.Fatalf("whoami not replayed: %v%s", err, dump(e.Slack.Responses(first.ResponseURL)))
	}
	// The link worked once.
	if status, _ := fetch(t, c, http.MethodGet, link); status != http.StatusNotFound {
		t.Fatalf("used link page: %d", status)
	}
	for _, r := range e.SOE.Requests() {
		if strings.Contains(r.Path+"?"+r.Query, pat) {
			t.Fatalf("token in a URL: %s", r.Path)
		}
	}

	// The PAT is deleted (or expires) at Stack Overflow: Reconnect.
	e.SOE.RevokeToken(pat)
	m = e.sees(t, e.slash(t, alice, General, "whoami"), "needs reconnecting", "Reconnect")
	pat2 := e.SOE.MintPAT(e.soeUser("alice"), false)
	if status, body := e.pastePAT(t, buttonURL(t, m, "Reconnect"), pat2, false); status != http.StatusOK || !strings.Contains(body, "read-only") {
		t.Fatalf("reconnect: %d\n%s", status, body)
	}
	e.sees(t, e.slash(t, alice, General, "whoami"), "Alice Anderson", "read-only")
}

func TestBasicBusinessLinkRefusesSomeoneElsesToken(t *testing.T) {
	e := bbBot(t)
	alice := SlackUser("alice")
	m := e.sees(t, e.slash(t, alice, General, "link"), "Connect your Stack Overflow account")
	link := buttonURL(t, m, "Connect")
	// Bob opens alice's link and pastes his own token.
	status, body := e.pastePAT(t, link, e.SOE.MintPAT(e.soeUser("bob"), true), true)
	if status != http.StatusForbidden || !strings.Contains(body, "same email") {
		t.Fatalf("%d %s", status, body)
	}
	if _, err := e.Slack.WaitDM(wait(t), alice, "did not work"); err != nil {
		t.Fatal(err)
	}
	e.sees(t, e.slash(t, alice, General, "whoami"), "not connected a Stack Overflow account")
	if status, _ := fetch(t, &http.Client{}, http.MethodGet, link); status != http.StatusNotFound {
		t.Fatalf("refused link still usable: %d", status)
	}
}

// A read-only PAT: told up front (box not ticked), or learned on the first
// refused write (box ticked on a token without write access).
func TestBasicBusinessReadOnlyPAT(t *testing.T) {
	e := bbBot(t)
	grace, _ := e.linkPAT(t, "grace", false)
	e.sees(t, e.slash(t, grace, General, "whoami"), "read-only")
	m := e.sees(t, e.slash(t, grace, General, "ask How do I lazy-load React routes?"), "read-only", "Enable write access", "Reconnect")
	if u := buttonURL(t, m, "Reconnect"); !strings.HasPrefix(u, e.Config.PublicURL+"/link/") {
		t.Fatalf("reconnect URL %q", u)
	}
	noOpenModal(t, e, grace)

	// Ivan says he ticked write access, but his token has none.
	user := SlackUser("ivan")
	pat := e.SOE.MintPAT(e.soeUser("ivan"), false)
	m = e.sees(t, e.slash(t, user, General, "link"), "Connect your Stack Overflow account")
	if status, body := e.pastePAT(t, buttonURL(t, m, "Connect"), pat, true); status != http.StatusOK || !strings.Contains(body, "read-write requested") {
		t.Fatalf("%d %s", status, body)
	}
	before := e.createdQuestions()
	e.slash(t, user, General, "ask How do I version feature stores?")
	v := e.askForm(t, user)
	e.submitAsk(t, user, v, askValues{title: "How do I version feature stores?", body: "We use parquet files.", tags: []string{"python"}})
	if _, err := e.Slack.WaitEphemeral(wait(t), user, "read-only"); err != nil {
		if _, derr := e.Slack.WaitDM(wait(t), user, "read-only"); derr != nil {
			t.Fatalf("no read-only message: %v / %v", err, derr)
		}
	}
	if n := e.createdQuestions() - before; n != 0 {
		t.Fatalf("%d questions created with a read-only token", n)
	}
	e.sees(t, e.slash(t, user, General, "whoami"), "read-only")
}

func TestBasicBusinessFeatures(t *testing.T) {
	e := bbBot(t)
	alice, _ := e.linkPAT(t, "alice", true)
	e.linkPAT(t, "carol", true)
	main := soe.MainSite()

	// experts
	m := e.sees(t, e.slash(t, alice, General, "experts kubernetes"), "Experts on kubernetes")
	if !strings.Contains(flat(m), "@UCAROL") {
		t.Errorf("experts lack carol:\n%s", flat(m))
	}

	// search: results link to the team's site.
	s := e.sees(t, e.slash(t, alice, General, "search kubernetes"), "Results 1–", "kubernetes")
	if !strings.Contains(flat(s), e.SOE.SiteURL()+"/questions/") {
		t.Errorf("search results do not link into the team:\n%s", flat(s))
	}

	// ask: a question is posted in the team, and the write is recorded.
	before := e.createdQuestions()
	cmd := e.slash(t, alice, General, "ask How do I roll back a Helm release?")
	v := e.askForm(t, alice)
	e.submitAsk(t, alice, v, askValues{title: "How do I roll back a Helm release?", body: "helm rollback fails.", tags: []string{"kubernetes"}})
	conf := e.sees(t, cmd, "Posted:", "How do I roll back a Helm release?")
	if !strings.Contains(flat(conf), e.SOE.SiteURL()+"/questions/") {
		t.Errorf("confirmation does not link into the team:\n%s", flat(conf))
	}
	if n := e.createdQuestions() - before; n != 1 {
		t.Fatalf("%d questions created", n)
	}
	who := e.sees(t, e.slash(t, alice, General, "whoami"), "read-write")
	if strings.Contains(flat(who), "requested") {
		t.Errorf("whoami still says requested after a write:\n%s", flat(who))
	}

	// unfurl a stackoverflowteams.com/c/<team>/questions/… link
	q := e.SOE.AddQuestion(main, e.soeUser("judy"), "How do we pin Go toolchain versions in CI?", "We keep drifting.", "go")
	u := e.SOE.SiteURL() + "/questions/" + strconv.Itoa(q) + "/how-do-we-pin"
	ts := e.share(t, alice, General, u)
	e.unfurled(t, General, ts, u, "How do we pin Go toolchain versions in CI?")

	// Home
	home := e.openHome(t, SlackUser("carol"), "Tags you are an expert on")
	if !strings.Contains(home.Flat(), "Carol Chen") {
		t.Errorf("Home:\n%s", home.Flat())
	}

	// subscribe: a new answer is posted once.
	e.sees(t, e.slash(t, alice, General, "subscribe go"), "subscribed this channel to", "`go`")
	e.cycle(t)
	time.Sleep(5 * time.Millisecond)
	e.SOE.AddAnswer(main, q, e.soeUser("erin"), "Use the `toolchain` directive in go.mod.")
	e.cycle(t)
	cs := e.cards(General)
	if len(cs) != 1 || !strings.Contains(cs[0].Flat(), "New answer") || !strings.Contains(cs[0].Flat(), e.SOE.SiteURL()+"/questions/") {
		t.Fatalf("want one answer card linking into the team:%s", dump(cs))
	}
	// The ask form was submitted at once: similar questions found after that
	// are refused by Slack (stale hash), as they should be.
	e.Slack.T(t).ExpectNoErrorsBut("hash_conflict")
}
