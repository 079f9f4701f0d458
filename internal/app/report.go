package app

import (
	"context"
	"slices"
	"strings"

	"github.com/soebot/soebot/internal/features/report"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/soe"
)

// addReport registers /soe report (issue 22), with people from who and the
// channels that follow a tag from the notifications service.
func (a *App) addReport(who *people.Directory) {
	report.New(report.Config{Command: a.fc.Command, CacheTTL: 0}, report.Deps{
		Router: a.router, Slack: a.slack.Slack(), People: who, Subscriptions: tagChannels{a}, Audience: a.aud,
		Logger: a.log.With("component", "report"), Now: a.opts.Now,
	}).Register(a.router)
}

// tagChannels reads which channels follow a tag from notify's listing (the
// service is built after the features; nil: none).
type tagChannels struct{ a *App }

func (t tagChannels) TagChannels(ctx context.Context, teamID string, scope soe.Scope, tag string) ([]string, error) {
	if t.a.notify == nil {
		return nil, nil
	}
	subs, err := t.a.notify.TeamSubscriptions(ctx, teamID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, s := range subs {
		follows := s.AllTags() || slices.ContainsFunc(s.Tags, func(x string) bool { return strings.EqualFold(x, tag) })
		if s.Scope.Key() == scope.Key() && s.Active() && follows && !slices.Contains(out, s.ChannelID) {
			out = append(out, s.ChannelID)
		}
	}
	slices.Sort(out)
	return out, nil
}
