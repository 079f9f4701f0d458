package e2e

import (
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/soe"
)

// smeIDs are the SOE users SOE lists as SMEs of tag (individually).
func (e *Env) smeIDs(t *testing.T, tag string) []int {
	t.Helper()
	c := e.soeAs(soe.MainSite(), "heidi")
	tg, _, err := c.TagByName(wait(t), tag)
	if err != nil {
		t.Fatal(err)
	}
	smes, err := c.SubjectMatterExperts(wait(t), tg.ID)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, u := range smes.Users {
		ids = append(ids, u.ID)
	}
	return ids
}

func TestExpertsAddAndRemove(t *testing.T) {
	e := bot(t)
	e.link(t, "heidi") // the admin: SOE lets her change experts and shows her emails
	e.link(t, "alice")
	erin := e.SOE.UserByName("erin").ID

	// erin has not linked: heidi's token finds her by her Slack email.
	m := e.sees(t, e.slash(t, SlackUser("heidi"), General, "experts add <@UERIN|erin> terraform"),
		"is now a subject-matter expert on `terraform`", "Experts on terraform", "@UERIN")
	if m.InChannel {
		t.Error("the answer must be ephemeral")
	}
	if got := e.smeIDs(t, "terraform"); len(got) != 1 || got[0] != erin {
		t.Fatalf("SMEs of terraform after add: %v", got)
	}
	// The cached experts were refreshed: /soe experts shows erin at once.
	e.sees(t, e.slash(t, SlackUser("alice"), General, "experts terraform"), "Experts on terraform", "Erin Evans")

	// SOE decides who may: alice is not a moderator (she finds erin through
	// erin's link: SOE shows her no emails).
	e.link(t, "erin")
	e.sees(t, e.slash(t, SlackUser("alice"), General, "experts remove <@UERIN|erin> terraform"),
		"only moderators can change the experts of a tag")
	// Somebody without an SOE account, and a tag that does not exist.
	e.sees(t, e.slash(t, SlackUser("heidi"), General, "experts add <@UMALLORY|mallory> terraform"), "I do not know who", "/soe link")
	e.sees(t, e.slash(t, SlackUser("heidi"), General, "experts add <@UERIN|erin> terrafrom"), "No tag `terrafrom`", "`terraform`")

	m = e.sees(t, e.slash(t, SlackUser("heidi"), General, "experts remove <@UERIN|erin> terraform"),
		"is no longer a subject-matter expert on `terraform`", "no subject-matter experts")
	if got := e.smeIDs(t, "terraform"); len(got) != 0 {
		t.Fatalf("SMEs of terraform after remove: %v", got)
	}
	if strings.Contains(flat(m), "Erin Evans") {
		t.Errorf("erin still listed:\n%s", flat(m))
	}

	// Usage errors ride in the ack; SMEs turned off say so.
	e.sees(t, e.slash(t, SlackUser("heidi"), General, "experts add @erin"), "mention the person with @")
	e.sees(t, e.slash(t, SlackUser("heidi"), General, "experts add <@UERIN|erin>"), "name the tag")
	e.SOE.SetSMEsEnabled(false)
	e.sees(t, e.slash(t, SlackUser("heidi"), General, "experts add <@UERIN|erin> go"), "Subject-matter experts are turned off")
}
