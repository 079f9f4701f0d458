package e2e

import (
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe/soefake"
)

func flat(m slackfake.Message) string { return m.Text + "\n" + slackfake.Flatten(m.Blocks) }

func TestExpertsMentionsMappedPeopleAndNamesTheRest(t *testing.T) {
	e := bot(t)
	e.link(t, "alice")
	e.link(t, "carol") // carol (Platform Team) is mapped exactly through her link
	m := e.sees(t, e.slash(t, SlackUser("alice"), General, "experts Kubernetes"), "Experts on kubernetes")
	raw := flat(m)
	for _, want := range []string{"@UALICE", "@UCAROL", "Platform Team"} {
		if !strings.Contains(raw, want) {
			t.Errorf("answer lacks %s:\n%s", want, flat(m))
		}
	}
	// bob and dave are not linked and alice may not see their emails: names only.
	for _, name := range []string{"Bob Brown", "Dave Diaz"} {
		if !strings.Contains(raw, name) {
			t.Errorf("answer lacks %s", name)
		}
	}
	for _, never := range []string{"@UBOB", "@UDAVE"} {
		if strings.Contains(raw, never) {
			t.Errorf("%s mentioned without a mapping", never)
		}
	}
	if m.InChannel {
		t.Error("the answer must be ephemeral")
	}

	// Share in channel: the bot posts it in the channel, mentioning the experts.
	if _, err := e.Slack.BlockAction(SlackUser("alice"), General, &m, "experts_share", "experts_share", shareValue(t, m)); err != nil {
		t.Fatal(err)
	}
	posted, err := e.Slack.WaitMessage(wait(t), General, "Experts on kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	if !posted.BotPosted || !strings.Contains(flat(posted), "@UCAROL") || !strings.Contains(flat(posted), "Shared by") {
		t.Fatalf("shared message:\n%s", flat(posted))
	}
}

func TestExpertsAdminSeesEmailsSoMoreAreMapped(t *testing.T) {
	e := bot(t)
	e.link(t, "heidi") // the only SOE admin: SOE shows her emails, Slack maps them
	m := e.sees(t, e.slash(t, SlackUser("heidi"), General, "experts kubernetes"), "Experts on kubernetes")
	for _, want := range []string{"@UALICE", "@UBOB", "@UCAROL", "@UDAVE"} {
		if !strings.Contains(flat(m), want) {
			t.Errorf("answer lacks %s:\n%s", want, flat(m))
		}
	}
}

func TestExpertsSeveralTagsUnknownTagAndNoSMEs(t *testing.T) {
	e := bot(t)
	e.link(t, "judy")
	m := e.sees(t, e.slash(t, SlackUser("judy"), General, "sme [go] kuberntes #terraform"), "Experts on go")
	text := flat(m)
	for _, want := range []string{"Erin Evans", "No tag `kuberntes`", "Did you mean", "`kubernetes`", "no subject-matter experts", "3 people watch it"} {
		if !strings.Contains(text, want) {
			t.Errorf("answer lacks %q:\n%s", want, text)
		}
	}
}

func TestExpertsWhenSMEsAreOff(t *testing.T) {
	e := bot(t)
	e.link(t, "alice")
	e.SOE.SetSMEsEnabled(false)
	e.sees(t, e.slash(t, SlackUser("alice"), General, "experts go"), "Subject-matter experts are turned off")
}

func TestExpertsBadInputMakesNoSOECall(t *testing.T) {
	e := bot(t)
	e.link(t, "alice")
	before := len(e.SOE.Requests())
	for text, want := range map[string]string{
		"experts":                            "name a tag",
		"experts a b c d e f":                "at most 5",
		"experts " + strings.Repeat("k", 36): "longer than 35",
		"experts <!channel>":                 "cannot contain",
	} {
		m := e.sees(t, e.slash(t, SlackUser("alice"), General, text), want)
		if strings.Contains(string(m.Blocks), "<!channel>") || strings.Contains(string(m.Blocks), `\u003c!channel`) {
			t.Fatalf("echoed a live mention: %s", m.Blocks)
		}
	}
	if reqs := e.SOE.Requests()[before:]; len(reqs) != 0 {
		t.Fatalf("bad input made %d SOE calls: %+v", len(reqs), reqs)
	}
}

func TestExpertsTeamScope(t *testing.T) {
	e := bot(t)
	e.link(t, "carol", "platform")
	m := e.sees(t, e.slash(t, SlackUser("carol"), General, "experts kubernetes team platform"), "Experts on kubernetes")
	if !strings.Contains(flat(m), "@UCAROL") || strings.Contains(flat(m), "Alice") {
		t.Fatalf("team SMEs wrong:\n%s", flat(m))
	}
	// alice is in team platform at SOE but has not linked it here: Connect prompt.
	e.link(t, "alice")
	e.sees(t, e.slash(t, SlackUser("alice"), General, "experts kubernetes team platform"), "Connect", "team platform")
	// bob is not a member of team platform at all.
	e.link(t, "bob")
	e.sees(t, e.slash(t, SlackUser("bob"), General, "experts kubernetes team platform"), "Connect")
}

func TestExpertsUnlinkedUserGetsAnswerAfterLinking(t *testing.T) {
	e := bot(t)
	erin := SlackUser("erin")
	first := e.slash(t, erin, General, "experts go")
	m := e.sees(t, first, "Connect your Stack Overflow account")
	e.connect(t, buttonURL(t, m, "Connect"), "erin")
	if _, err := e.Slack.WaitResponse(wait(t), first.ResponseURL, "Experts on go"); err != nil {
		t.Fatalf("the original command was not answered after linking: %v%s", err, dump(e.Slack.Responses(first.ResponseURL)))
	}
}

func TestExpertsSOEDownSaysTryAgain(t *testing.T) {
	e := bot(t)
	e.link(t, "alice")
	e.SOE.SetFaults(soefake.Faults{ErrorRate: 1})
	e.sees(t, e.slash(t, SlackUser("alice"), General, "experts postgresql"), "did not answer")
}

func TestExpertsBurstCostsOneLookup(t *testing.T) {
	oneProcess(t, "the SME cache is per replica")
	e := bot(t)
	e.link(t, "alice")
	e.sees(t, e.slash(t, SlackUser("alice"), General, "experts python"), "Experts on python")
	before := len(e.SOE.Requests())
	var sent []*slackfake.Sent
	for range 5 {
		sent = append(sent, e.slash(t, SlackUser("alice"), General, "experts python"))
	}
	for _, s := range sent {
		e.sees(t, s, "Experts on python")
	}
	if reqs := e.SOE.Requests()[before:]; len(reqs) != 0 {
		t.Fatalf("cached lookups still made %d SOE calls: %+v", len(reqs), reqs)
	}
}

func shareValue(t *testing.T, m slackfake.Message) string {
	t.Helper()
	v := slackfake.ButtonValue(m.Blocks, "experts_share")
	if v == "" {
		t.Fatalf("no Share button:\n%s", flat(m))
	}
	return v
}
