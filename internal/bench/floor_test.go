package bench

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/soebot/soebot/internal/e2e"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
)

// fakeSlack starts a fake Slack with ten users in #general (with the bot).
func fakeSlack(tb testing.TB) (*slackfake.Fake, []string) {
	tb.Helper()
	f, err := slackfake.Start(slackfake.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.Close)
	users := make([]string, 10)
	for i := range users {
		users[i] = fmt.Sprintf("UF%04d", i)
		f.AddUser(slackfake.User{ID: users[i], Name: fmt.Sprintf("user%d", i), Email: fmt.Sprintf("user%d@example.com", i)})
	}
	f.AddChannel(slackfake.Channel{ID: e2e.General, Name: "general", Members: append([]string{f.BotUserID()}, users...)})
	return f, users
}

// bareClient connects a bare slack-go Socket Mode client to f that acks
// every envelope from its Events loop and, for a slash command, calls
// onSlash after the ack (nil: nothing else). It stops at the test's end.
func bareClient(tb testing.TB, f *slackfake.Fake, onSlash func(slack.SlashCommand)) {
	tb.Helper()
	api := slack.New(f.BotToken(), slack.OptionAppLevelToken(f.AppToken()), slack.OptionAPIURL(f.APIURL()))
	sm := socketmode.New(api)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 2)
	go func() { done <- sm.RunContext(ctx) }()
	go func() {
		for {
			select {
			case <-ctx.Done():
				done <- nil
				return
			case evt := <-sm.Events:
				if evt.Request == nil || evt.Type == socketmode.EventTypeHello {
					continue
				}
				_ = sm.Ack(*evt.Request)
				if cmd, ok := evt.Data.(slack.SlashCommand); ok && onSlash != nil {
					onSlash(cmd)
				}
			}
		}
	}()
	tb.Cleanup(func() {
		cancel()
		for range 2 {
			if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
				tb.Errorf("socket mode client: %v", err)
			}
		}
	})
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := f.WaitConnected(wctx); err != nil {
		tb.Fatal(err)
	}
}

// socketFloor measures what the fake Slack and slack-go's Socket Mode client
// alone achieve: a bare client that acks every envelope from its Events loop
// and does nothing else (no bot, no handlers, no SOE). It is the floor under
// BenchmarkAckLatency's back-to-back bursts on this machine.
func socketFloor(tb testing.TB, n, rounds int) ackResult {
	f, users := fakeSlack(tb)
	bareClient(tb, f, nil)
	var all []time.Duration
	var sending, acking time.Duration
	for range rounds {
		r := burst(tb, f, users, n, 0)
		all = append(all, r.latencies...)
		sending += r.sending
		acking += r.acking
		time.Sleep(50 * time.Millisecond)
	}
	return ackResult{slack: summarize(all), total: n * rounds,
		sentPerSec:  float64(n*rounds-rounds) / sending.Seconds(),
		ackedPerSec: float64(n*rounds) / acking.Seconds()}
}

// BenchmarkSocketModeFloor: the same back-to-back bursts as
// BenchmarkAckLatency, acked by a bare slack-go Socket Mode client.
func BenchmarkSocketModeFloor(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("concurrent=%d/back-to-back", n), func(b *testing.B) {
			var res ackResult
			for range b.N {
				res = socketFloor(b, n, *rounds)
			}
			report(b, "ack-", res.slack)
			b.ReportMetric(res.sentPerSec, "sent/s")
			b.ReportMetric(res.ackedPerSec, "acked/s")
			b.Logf("bare slack-go client, %d envelopes back to back x %d rounds: %s; sent %.0f/s, acked %.0f/s",
				n, *rounds, res.slack, res.sentPerSec, res.ackedPerSec)
		})
	}
}
