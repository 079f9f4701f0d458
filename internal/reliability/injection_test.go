package reliability

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/soe"
)

// The hostile corpus: Slack control sequences, their HTML-escaped twins,
// formatting, invisible and bidi characters.
var hostile = []string{
	"<!channel>", "<!here>", "<!everyone>", "<!subteam^SEVIL666>", "<@UEVIL666>", "<@UEVIL666|admin>",
	"<#CEVIL666>", "<#CEVIL666|general>", "<https://evil.example|Acme SSO>", "<mailto:evil@evil.example|x>",
	"&lt;!channel&gt;", "&amp;lt;!here&amp;gt;", "&lt;@UEVIL666&gt;", "<<!channel>>", "<!channel|x>",
	"*bold* _it_ ~strike~ `code` ```block```", "> quote", "\u200b<\u200b!channel>", "\u202egnp.exe\u202c",
	"\u2066<!here>\u2069", "@channel", "@here",
}

func hostileText(prefix string) string {
	return prefix + " " + strings.Join(hostile, " ")
}

// liveToken finds Slack control sequences in rendered mrkdwn.
var liveToken = regexp.MustCompile(`<([!@#][^>]*|[a-z]+:[^>]*)>`)

// renderedTexts walks a Slack API payload and returns the strings Slack
// renders as mrkdwn (mrkdwn text objects, message and attachment text).
func renderedTexts(v any, parentType string, out *[]string) {
	switch x := v.(type) {
	case map[string]any:
		typ, _ := x["type"].(string)
		for k, val := range x {
			switch k {
			case "value", "initial_value", "placeholder", "private_metadata", "metadata", "action_id", "block_id", "callback_id", "url", "image_url", "alt_text", "initial_option", "initial_options", "options", "option_groups":
				continue // never rendered as mrkdwn
			case "text", "pretext", "footer", "title", "author_name", "fallback":
				if s, ok := val.(string); ok {
					if typ != "plain_text" {
						*out = append(*out, s)
					}
					continue
				}
			}
			renderedTexts(val, typ, out)
		}
	case []any:
		for _, e := range x {
			renderedTexts(e, parentType, out)
		}
	}
}

// allowedToken says whether a control sequence is one the bot may send:
// mentions of real workspace users and channels, links to SOE or the bot.
func allowedToken(tok string, r *rig, users map[string]bool) bool {
	inner := tok[1 : len(tok)-1]
	target, _, _ := strings.Cut(inner, "|")
	switch {
	case strings.HasPrefix(inner, "!"):
		return false
	case strings.HasPrefix(inner, "@"):
		return users[target[1:]]
	case strings.HasPrefix(inner, "#"):
		ch := target[1:]
		return ch == e2e.General || ch == e2e.Random || ch == e2e.Private || ch == e2e.Secret || ch == e2e.Archived
	default:
		return strings.HasPrefix(target, r.SOE.URL()+"/") || target == r.SOE.URL() || strings.HasPrefix(target, r.Config.PublicURL+"/")
	}
}

// TestOutputInjection plants hostile SOE content — titles, bodies, user
// and group names, tag descriptions, a 40,000-character body — and renders
// it in every kind of message: experts, search, unfurls, the ask
// confirmation and SME DM, notification cards and DMs, the App Home and the
// link DM. No live mention or link survives, no payload breaks Slack's
// limits, nothing panics.
func TestOutputInjection(t *testing.T) {
	r := start(t)
	main := soe.MainSite()
	bob, dave, erin := r.SOE.UserByName("bob").ID, r.SOE.UserByName("dave").ID, r.SOE.UserByName("erin").ID
	alice := r.SOE.UserByName("alice").ID
	r.SOE.SetUserName(bob, hostileText("Bob"))
	r.SOE.SetUserName(dave, "<https://evil.example|Dave> <@UEVIL666>")
	r.SOE.SetUserName(erin, "&lt;!channel&gt; Erin \u200b<!here>")
	r.SOE.SetGroupName(1, "<!here> Platform <#CEVIL666>")
	r.SOE.SetTagDescription(main, "kubernetes", hostileText("Kubernetes tag"))
	r.SOE.SetTagDescription(main, "go", "<!channel> go")

	r.link("alice")
	r.link("erin") // "Connected as <hostile name>"
	aliceU, erinU := e2e.SlackUser("alice"), e2e.SlackUser("erin")
	r.sees(r.slash(aliceU, e2e.General, "subscribe kubernetes go all"), "subscribed this channel")
	r.sees(r.slash(aliceU, e2e.General, "notify answers on"), "answers")
	r.sees(r.slash(aliceU, e2e.General, "notify expert on"), "expert")
	if err := r.cycle(waitCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}

	// Hostile questions and answers, one with a 40,000-character body.
	time.Sleep(5 * time.Millisecond)
	huge := strings.Repeat(hostileText("Long")+"\n\n", 40000/len(hostileText("Long")))
	if len(huge) < 40000 {
		huge += strings.Repeat("x", 40000-len(huge))
	}
	q1 := r.SOE.AddQuestion(main, bob, hostileText("Title"), hostileText("Body")+"\n\n```\n<!channel> in code\n```", "kubernetes")
	q2 := r.SOE.AddQuestion(main, alice, "Huge "+hostile[0]+" question about go", huge, "go")
	a1 := r.SOE.AddAnswer(main, q1, dave, hostileText("Answer"))
	a2 := r.SOE.AddAnswer(main, q2, erin, huge)
	r.SOE.AcceptAnswer(main, q2, a2)
	if err := r.cycle(waitCtx(t, 15*time.Second)); err != nil {
		t.Fatal(err)
	}
	if len(r.cards(e2e.General)) == 0 {
		t.Fatal("no notification cards were posted")
	}

	// Every command that shows SOE content.
	r.sees(r.slash(aliceU, e2e.General, "experts kubernetes"), "Experts on kubernetes")
	r.sees(r.slash(aliceU, e2e.General, "experts go"), "Experts on go")
	r.sees(r.slash(aliceU, e2e.General, "search kubernetes"), "kubernetes")
	r.sees(r.slash(aliceU, e2e.General, "search huge question"), "uge")
	r.sees(r.slash(erinU, e2e.General, "whoami"), "Erin")
	for _, u := range []string{
		fmt.Sprintf("%s/questions/%d", r.SOE.URL(), q1),
		fmt.Sprintf("%s/questions/%d", r.SOE.URL(), q2),
		fmt.Sprintf("%s/questions/%d/x#%d", r.SOE.URL(), q1, a1),
		fmt.Sprintf("%s/questions/%d/huge#%d", r.SOE.URL(), q2, a2),
	} {
		msg := r.Slack.PostAsUser(aliceU, e2e.General, "look "+u, "")
		if _, err := r.Slack.LinkShared(aliceU, e2e.General, msg.TS, []string{u}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Slack.WaitUnfurl(waitCtx(t, 10*time.Second), e2e.General, msg.TS, u); err != nil {
			t.Fatalf("%s not unfurled: %v", u, err)
		}
	}
	for _, u := range []string{aliceU, erinU} {
		if _, err := r.Slack.AppHomeOpened(u); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Slack.WaitHome(waitCtx(t, 10*time.Second), u, "Stack Overflow"); err != nil {
			t.Fatal(err)
		}
	}
	// erin (hostile name) asks with a hostile title in kubernetes, whose
	// linked SME alice gets a DM.
	askOnce(t, r, erinU, "<!channel> <@UEVIL666> <https://evil.example|x> &lt;!here&gt; help?")
	if _, err := r.Slack.WaitDM(waitCtx(t, 10*time.Second), aliceU, "help?"); err != nil {
		t.Errorf("no SME DM for the hostile question: %v", err)
	}
	time.Sleep(300 * time.Millisecond) // let the last posts land

	// Scan everything the bot sent to Slack.
	users := map[string]bool{}
	for _, u := range r.SOE.Users() {
		users[e2e.SlackUser(u.Login)] = true
	}
	users["UMALLORY"] = true
	kinds := map[string]int{}
	defused := map[string]int{} // texts showing hostile content, escaped
	texts := 0
	for _, c := range r.Slack.Calls("") {
		payload := map[string]any{}
		for k, v := range c.Form {
			if len(v) == 0 {
				continue
			}
			var j any
			if json.Unmarshal([]byte(v[0]), &j) == nil && (strings.HasPrefix(v[0], "[") || strings.HasPrefix(v[0], "{")) {
				payload[k] = j
			} else {
				payload[k] = v[0]
			}
		}
		for k, v := range c.JSON {
			payload[k] = v
		}
		var out []string
		renderedTexts(payload, "", &out)
		if len(out) > 0 {
			kinds[c.Method]++
		}
		for _, s := range out {
			texts++
			if strings.Contains(s, "&lt;!channel&gt;") || strings.Contains(s, "&lt;!here&gt;") {
				defused[c.Method]++
			}
			for _, tok := range liveToken.FindAllString(s, -1) {
				if !allowedToken(tok, r, users) {
					t.Errorf("%s sent a live %q:\n%.400s\n%v", c.Method, tok, s, payload)
				}
			}
		}
	}
	for _, c := range r.Slack.Errors() {
		if c.Method == "users.info" && c.Err == "user_not_found" {
			continue // the typed title "<@UEVIL666>" is looked up, and is nobody
		}
		if c.Method == "views.update" && c.Err == "hash_conflict" {
			continue // late similar questions, refused by design once the form was submitted
		}
		t.Errorf("Slack refused %s: %s %v %v %v", c.Method, c.Err, c.Errors, c.Form, c.JSON)
	}
	if strings.Contains(r.logs.String(), "panic") {
		t.Error("a handler panicked on hostile content")
	}
	for _, want := range []string{"chat.postMessage", "response_url", "chat.unfurl", "views.publish"} {
		if defused[want] == 0 {
			t.Errorf("no %s payload showed the hostile content: the test proves nothing there", want)
		}
	}
	t.Logf("scanned %d rendered texts in %v (%v showed hostile content, escaped); %d hostile strings planted in titles, bodies, names, group names and tag descriptions",
		texts, kinds, defused, len(hostile))
}
