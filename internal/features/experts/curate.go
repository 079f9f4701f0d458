package experts

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

// /soe experts add @person <tag> and /soe experts remove @person <tag>: the
// caller changes a tag's SMEs on Stack Overflow with their own token, and SOE
// decides whether they may (moderators).

// Links finds the SOE accounts a Slack user linked (linking.Service).
type Links interface {
	Links(ctx context.Context, teamID, userID string) ([]linking.Link, error)
}

// Curator is what changing experts needs of the directory besides People:
// forgetting what it cached about the tag (*people.Directory).
type Curator interface {
	Forget(scope soe.Scope, tagID int, name string)
}

// curateSOE is what changing experts asks SOE (*soe.Client).
type curateSOE interface {
	people.Source
	UserByEmail(ctx context.Context, email string) (*soe.User, error)
	AddSubjectMatterExpertUsers(ctx context.Context, tagID int, userIDs []int) (*soe.SubjectMatterExperts, error)
	RemoveSubjectMatterExpertUser(ctx context.Context, tagID, userID int) error
}

// curateArgs is a parsed add/remove.
type curateArgs struct {
	add    bool
	person string // Slack user id
	tag    string
	team   string
}

// isCurate reports whether args are an add/remove (the verb followed by a
// person) rather than a lookup of tags that happen to be called add/remove.
func isCurate(args []string) bool {
	if len(args) < 2 {
		return false
	}
	if v := strings.ToLower(args[0]); v != "add" && v != "remove" {
		return false
	}
	return strings.HasPrefix(args[1], "<@") || strings.HasPrefix(args[1], "@")
}

// parseCurateArgs parses "add|remove <@U…|name> <tag> [team <slug>]".
func parseCurateArgs(args []string) (curateArgs, string) {
	ca := curateArgs{add: strings.EqualFold(args[0], "add")}
	team, rest, err := router.TakeTeam(args[1:])
	if err != nil {
		return ca, err.Error()
	}
	ca.team = team
	id, ok := mentionID(rest[0])
	if !ok {
		return ca, "mention the person with @ so that Slack links them, like `@alice`"
	}
	ca.person = id
	switch len(rest) {
	case 1:
		return ca, "name the tag"
	case 2:
	default:
		return ca, "change the experts of one tag at a time"
	}
	ca.tag = router.NormalizeTag(rest[1])
	if p := router.ValidateTag(ca.tag); p != "" {
		return ca, p
	}
	return ca, ""
}

// mentionID is the user id of an escaped Slack mention (<@U123|alice>).
func mentionID(s string) (string, bool) {
	if !strings.HasPrefix(s, "<@") || !strings.HasSuffix(s, ">") {
		return "", false
	}
	id, _, _ := strings.Cut(s[2:len(s)-1], "|")
	return id, chat.ValidID(id)
}

func (f *Feature) curateUsage(problem string) chat.Message {
	cmd := f.cfg.Command
	return blockkit.Warning(fmt.Sprintf("That did not work: %s.\nUsage: %s or %s, for example %s.", problem,
		mrkdwn.Code(cmd+" experts add @person <tag> [team <slug>]"), mrkdwn.Code(cmd+" experts remove @person <tag>"),
		mrkdwn.Code(cmd+" experts add @alice kubernetes")))
}

// runCurate adds or removes the expert.
func (f *Feature) runCurate(ctx context.Context, r *router.Request) {
	ca, _ := parseCurateArgs(r.Args) // a usage problem was answered by quick
	scope := f.router.ScopeFor(ctx, r.Env, ca.team)
	resume := &linking.Resume{Text: r.Env.Slash.Text, ChannelID: r.ChannelID, ResponseURL: r.ResponseURL}
	f.router.WithSOE(ctx, r.Env, scope, resume, func(ctx context.Context, c *soe.Client, link *linking.Link) error {
		ctx, cancel := context.WithTimeout(ctx, f.cfg.SOETimeout)
		defer cancel()
		m, err := f.curate(ctx, r.TeamID, c, link, ca)
		if err != nil {
			return err
		}
		f.router.Reply(ctx, r.Env, m)
		return nil
	})
}

// curate makes the change and says what came of it. Errors it returns are
// the router's to explain (unauthorised, read-only, SOE down…).
func (f *Feature) curate(ctx context.Context, teamID string, c curateSOE, link *linking.Link, ca curateArgs) (chat.Message, error) {
	caller := 0
	if link != nil {
		caller = link.SOEUserID
	}
	res, err := f.lookupTag(ctx, teamID, c, caller, ca.tag)
	if err != nil || res.Tag == nil || res.SMEDisabled {
		return f.render(c.Scope(), []tagExperts{res}, renderOpts{}), err
	}
	soeID, err := f.soeUserOf(ctx, teamID, c, ca.person)
	if err != nil || soeID == 0 {
		return blockkit.Warning(fmt.Sprintf("I do not know who %s is on %s: ask them to run %s once, then try again.",
			mrkdwn.Mention(ca.person), mrkdwn.Escape(c.Scope().String()), mrkdwn.Code(f.cfg.Command+" link"))), err
	}
	if ca.add {
		_, err = c.AddSubjectMatterExpertUsers(ctx, res.Tag.ID, []int{soeID})
	} else {
		err = c.RemoveSubjectMatterExpertUser(ctx, res.Tag.ID, soeID)
	}
	switch {
	case errors.Is(err, soe.ErrWriteAccess):
		return chat.Message{}, err
	case errors.Is(err, soe.ErrForbidden):
		return blockkit.Warning("Stack Overflow says only moderators can change the experts of a tag."), nil
	case errors.Is(err, soe.ErrSMEDisabled):
		res.SMEDisabled = true
		return f.render(c.Scope(), []tagExperts{res}, renderOpts{}), nil
	case err != nil:
		return chat.Message{}, err
	}
	if f.curator != nil {
		f.curator.Forget(c.Scope(), res.Tag.ID, res.Tag.Name)
	}
	return f.changed(ctx, teamID, c, caller, ca, res.Tag.Name)
}

// changed is the answer after a change: what was done and the tag's experts
// as SOE now lists them.
func (f *Feature) changed(ctx context.Context, teamID string, c curateSOE, caller int, ca curateArgs, name string) (chat.Message, error) {
	res, err := f.lookupTag(ctx, teamID, c, caller, name)
	if err != nil {
		return chat.Message{}, err
	}
	what := fmt.Sprintf(":white_check_mark: %s is now a subject-matter expert on %s.", mrkdwn.Mention(ca.person), mrkdwn.Code(name))
	if !ca.add {
		what = fmt.Sprintf(":white_check_mark: %s is no longer a subject-matter expert on %s.", mrkdwn.Mention(ca.person), mrkdwn.Code(name))
		if stillInGroup(res, ca.person) {
			what += " They are still one through a group."
		}
	}
	m := f.render(c.Scope(), []tagExperts{res}, renderOpts{})
	m.Text = strings.TrimPrefix(what, ":white_check_mark: ")
	m.Blocks = append([]slack.Block{blockkit.Section(what)}, m.Blocks...)
	return m, nil
}

func stillInGroup(res tagExperts, slackID string) bool {
	for _, g := range res.Groups {
		for _, p := range g.Members {
			if p.SlackID == slackID {
				return true
			}
		}
	}
	return false
}

// soeUserOf is the SOE user id of a Slack user in c's scope: through their
// link, else through their Slack email if SOE lets the caller look it up
// (admins). 0 when unknown.
func (f *Feature) soeUserOf(ctx context.Context, teamID string, c curateSOE, slackUser string) (int, error) {
	if f.links != nil {
		links, err := f.links.Links(ctx, teamID, slackUser)
		if err != nil {
			return 0, err
		}
		for _, l := range links {
			if l.Scope.Key() == c.Scope().Key() {
				return l.SOEUserID, nil
			}
		}
	}
	if f.slack == nil {
		return 0, nil
	}
	su, err := f.slack.UserInfo(ctx, slackUser)
	if err != nil || su.Profile.Email == "" || su.Deleted || su.IsBot {
		return 0, nil //nolint:nilerr // a Slack user we cannot see is one we do not know
	}
	u, err := c.UserByEmail(ctx, su.Profile.Email)
	switch {
	case errors.Is(err, soe.ErrForbidden), errors.Is(err, soe.ErrNotFound):
		return 0, nil
	case err != nil:
		return 0, err
	}
	return u.ID, nil
}
