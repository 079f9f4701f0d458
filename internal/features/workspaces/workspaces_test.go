package workspaces

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/slack-go/slack/slackevents"

	"github.com/soebot/soebot/internal/chat"
)

func event(data any) *chat.Envelope {
	return &chat.Envelope{Event: &slackevents.EventsAPIEvent{InnerEvent: slackevents.EventsAPIInnerEvent{Data: data}}}
}

type recorder struct {
	calls []string
	err   error
}

func (r *recorder) WorkspaceAccess(_ context.Context, ws string, granted bool) (int, error) {
	r.calls = append(r.calls, map[bool]string{true: "+", false: "-"}[granted]+ws)
	return 1, r.err
}

func TestAccess(t *testing.T) {
	for _, c := range []struct {
		name string
		env  *chat.Envelope
		err  error
		want []string
	}{
		{"granted", event(&slackevents.TeamAccessGrantedEvent{TeamIDs: []string{"T1", "T2"}}), nil, []string{"+T1", "+T2"}},
		{"revoked", event(&slackevents.TeamAccessRevokedEvent{TeamIDs: []string{"T2"}}), nil, []string{"-T2"}},
		{"a bad id is skipped, the rest applied", event(&slackevents.TeamAccessRevokedEvent{TeamIDs: []string{"T 1", "T3"}}), nil, []string{"-T3"}},
		{"an error on one goes on with the next", event(&slackevents.TeamAccessRevokedEvent{TeamIDs: []string{"T1", "T2"}}), errors.New("db"), []string{"-T1", "-T2"}},
		{"another event", event(&slackevents.AppHomeOpenedEvent{}), nil, nil},
		{"not an event", &chat.Envelope{}, nil, nil},
	} {
		r := &recorder{err: c.err}
		New(Config{}, Deps{Subscriptions: r}).access(context.Background(), c.env)
		if !slices.Equal(r.calls, c.want) {
			t.Errorf("%s: calls %v, want %v", c.name, r.calls, c.want)
		}
	}
}
