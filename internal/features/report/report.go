// Package report is /soe report: a tag's health as SOE measures it with the
// caller's own token (experts, watchers, questions asked and answered, the
// time to a first answer, the oldest unanswered questions, the channels that
// follow it, and a weekly chart uploaded next to the answer), and, without a
// tag, the tags with the most unanswered questions. Reports are cached; what
// one costs on SOE is bounded (gather.go, docs/benchmarks.md).
package report

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/reveal"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/ttlcache"
)

// Config is what the feature needs to know about its surroundings.
type Config struct {
	Command string // default "/soe"
	// SOETimeout bounds the SOE calls of one report (default 30s: a report
	// reads up to a few dozen pages, paced per account).
	SOETimeout time.Duration
	// CacheTTL is how long a report is kept (default 10m).
	CacheTTL time.Duration
}

// Router is what the feature uses of the router (*router.Router).
type Router interface {
	Reply(ctx context.Context, env *chat.Envelope, m chat.Message)
	ScopeFor(ctx context.Context, env *chat.Envelope, team string) soe.Scope
	WithSOE(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume,
		f func(ctx context.Context, c *soe.Client, l *linking.Link) error)
}

// Slack uploads the chart, to the channel or the caller's DM (chat.Slack).
type Slack interface {
	DM(ctx context.Context, user string, m chat.Message) (channel, ts string, err error)
	UploadFile(ctx context.Context, channel, threadTS, comment string, f chat.File) (string, error)
}

// People finds a tag and its experts (*people.Directory).
type People interface {
	TagWithExperts(ctx context.Context, src people.Source, name string) (*soe.TagSummary, *people.Experts, []string, error)
	TagExperts(ctx context.Context, src people.Source, tagID int) (*people.Experts, error)
}

// Subscriptions says which channels of a workspace follow a tag of scope
// (app wires it to internal/notify's listing).
type Subscriptions interface {
	TagChannels(ctx context.Context, teamID string, scope soe.Scope, tag string) ([]string, error)
}

// Deps are the services the feature uses. Subscriptions nil: no channels
// listed; Audience nil: a private team's chart goes to the caller's DM.
type Deps struct {
	Router        Router
	Slack         Slack
	People        People
	Subscriptions Subscriptions
	Audience      reveal.Audience
	Logger        *slog.Logger
	Now           func() time.Time
}

// Feature is /soe report.
type Feature struct {
	cfg    Config
	router Router
	slack  Slack
	people People
	subs   Subscriptions
	aud    reveal.Audience
	log    *slog.Logger
	now    func() time.Time
	tags   *ttlcache.Cache[string, *tagReport]
	tops   *ttlcache.Cache[string, *topReport]
}

// New builds the feature; Register adds it to a router.
func New(cfg Config, d Deps) *Feature {
	if cfg.Command == "" {
		cfg.Command = "/soe"
	}
	if cfg.SOETimeout <= 0 {
		cfg.SOETimeout = 30 * time.Second
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 10 * time.Minute
	}
	d.Logger, d.Now, _ = router.Defaults(d.Logger, d.Now, cfg.SOETimeout)
	return &Feature{cfg: cfg, router: d.Router, slack: d.Slack, people: d.People, subs: d.Subscriptions, aud: d.Audience,
		log: d.Logger, now: d.Now,
		tags: ttlcache.New[string, *tagReport](cfg.CacheTTL, 500, d.Now),
		tops: ttlcache.New[string, *topReport](cfg.CacheTTL, 100, d.Now)}
}

// Register adds /soe report.
func (f *Feature) Register(r *router.Router) {
	r.Subcommand(&router.Subcommand{
		Name: "report", Aliases: []string{"health"},
		Usage:   "report [tag] [days N] [team <slug>]",
		Summary: "How healthy is a tag: experts, questions answered, the oldest unanswered, a weekly chart. Without a tag: the tags most in need.",
		Quick:   f.quick,
		Run:     f.run,
	})
}

// Days a report may cover.
const (
	defaultDays = 30
	maxDays     = 365
)

// parseArgs reads "[tag] [days N] [team <slug>]".
func parseArgs(args []string) (tag string, days int, team string, problem string) {
	team, rest, err := router.TakeTeam(args)
	if err != nil {
		return "", 0, "", err.Error()
	}
	days = defaultDays
	for i := 0; i < len(rest); i++ {
		if strings.EqualFold(rest[i], "days") {
			if i+1 >= len(rest) {
				return "", 0, "", "say how many days, like `days 90`"
			}
			n, err := strconv.Atoi(rest[i+1])
			if err != nil || n < 1 || n > maxDays {
				return "", 0, "", fmt.Sprintf("days must be a number from 1 to %d", maxDays)
			}
			days, i = n, i+1
			continue
		}
		if tag != "" {
			return "", 0, "", "report on one tag at a time"
		}
		tag = router.NormalizeTag(rest[i])
		if p := router.ValidateTag(tag); p != "" {
			return "", 0, "", p
		}
	}
	return tag, days, team, ""
}

func (f *Feature) usage(problem string) chat.Message {
	cmd := f.cfg.Command
	return blockkit.Warning(fmt.Sprintf("That did not work: %s.\nUsage: %s, for example %s, or %s for the tags most in need.", problem,
		mrkdwn.Code(cmd+" report [tag] [days N] [team <slug>]"), mrkdwn.Code(cmd+" report kubernetes days 90"), mrkdwn.Code(cmd+" report")))
}

// quick answers a usage error from the text alone, in the ack.
func (f *Feature) quick(r *router.Request) (chat.Message, bool) {
	if _, _, _, problem := parseArgs(r.Args); problem != "" {
		return f.usage(problem), true
	}
	return chat.Message{}, false
}

func (f *Feature) run(ctx context.Context, r *router.Request) {
	tag, days, team, _ := parseArgs(r.Args) // a usage problem was answered by quick
	scope := f.router.ScopeFor(ctx, r.Env, team)
	resume := &linking.Resume{Text: r.Env.Slash.Text, ChannelID: r.ChannelID, ResponseURL: r.ResponseURL}
	f.router.WithSOE(ctx, r.Env, scope, resume, func(ctx context.Context, c *soe.Client, link *linking.Link) error {
		caller := 0
		if link != nil {
			caller = link.SOEUserID
		}
		return f.answer(ctx, r.Env, c, caller, tag, days)
	})
}

// answer says it is working on it, gathers (or finds in the cache) the
// report, replaces the working message with it and uploads the chart.
func (f *Feature) answer(ctx context.Context, env *chat.Envelope, c reportSOE, caller int, tag string, days int) error {
	key := fmt.Sprintf("%s\x00%d\x00%s\x00%d", c.Scope().Key(), caller, tag, days)
	what := "the tags most in need"
	if tag != "" {
		what = mrkdwn.Code(tag)
	}
	_, cachedTag := f.tags.Get(key)
	_, cachedTop := f.tops.Get(key)
	if !cachedTag && !cachedTop {
		f.router.Reply(ctx, env, blockkit.Text(fmt.Sprintf(":hourglass_flowing_sand: Working on the report on %s (last %d days)…", what, days)))
	}
	sctx, cancel := context.WithTimeout(ctx, f.cfg.SOETimeout)
	defer cancel()
	if tag == "" {
		top, err := f.tops.GetOrLoad(sctx, key, func(ctx context.Context) (*topReport, error) { return f.gatherTop(ctx, c, days) })
		if err != nil {
			return err
		}
		f.show(ctx, env, renderTop(top, f.cfg.Command))
		return nil
	}
	rep, err := f.tags.GetOrLoad(sctx, key, func(ctx context.Context) (*tagReport, error) {
		return f.gatherTag(ctx, env.TeamID, c, tag, days)
	})
	if err != nil {
		return err
	}
	f.show(ctx, env, renderTag(rep, f.cfg.Command))
	if rep.Tag != nil && len(rep.Chart) > 0 {
		f.uploadChart(ctx, env, rep)
	}
	return nil
}

// show replaces the working message (the reply chain tries the
// response_url first) or replies anew.
func (f *Feature) show(ctx context.Context, env *chat.Envelope, m chat.Message) {
	m.ReplaceOriginal = true
	f.router.Reply(ctx, env, m)
}

// uploadChart shares the chart in the channel the command came from when
// its scope's content may be shown there (reveal), else in the caller's DM.
func (f *Feature) uploadChart(ctx context.Context, env *chat.Envelope, rep *tagReport) {
	file := chat.File{Name: rep.Tag.Name + "-weekly.png", Title: fmt.Sprintf("[%s] questions per week, last %d days", rep.Tag.Name, rep.Days),
		AltText: chartAlt(rep), Content: rep.Chart}
	comment := fmt.Sprintf("Questions asked and answered per week in %s on %s (%s).", mrkdwn.Code(rep.Tag.Name),
		mrkdwn.Escape(rep.Scope.String()), mrkdwn.Code(f.cfg.Command+" report "+rep.Tag.Name))
	channel := env.ChannelID()
	if channel != "" && reveal.MayShow(ctx, f.aud, f.log, env.TeamID, channel, rep.Scope) {
		_, err := f.slack.UploadFile(ctx, channel, "", comment, file)
		if err == nil {
			return
		}
		f.log.InfoContext(ctx, "report: chart not shared in the channel; sending it by DM", "channel", channel, "err", err)
	}
	im, _, err := f.slack.DM(ctx, env.UserID, blockkit.Text(fmt.Sprintf("The chart of your report on %s:", mrkdwn.Code(rep.Tag.Name))))
	if err == nil {
		_, err = f.slack.UploadFile(ctx, im, "", comment, file)
	}
	if err != nil {
		f.log.WarnContext(ctx, "report: could not upload the chart", "user", env.UserID, "err", err)
	}
}

// chartAlt says what the chart shows, for screen readers.
func chartAlt(rep *tagReport) string {
	return fmt.Sprintf("Bar chart of %s: %d questions asked and %d answered in %d weeks.", rep.Tag.Name,
		rep.Stats.Asked, rep.Stats.Answered, len(rep.Stats.Weeks))
}
