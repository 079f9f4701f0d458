package slackfake_test

import (
	"context"
	"fmt"
	"time"

	"github.com/slack-go/slack"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
)

// The fake works without a *testing.T, e.g. in a demo binary.
func Example() {
	f := slackfake.New(slackfake.Options{})
	defer f.Close()
	f.AddUser(slackfake.User{ID: "U1", Name: "alice", Email: "alice@example.com"})
	f.AddChannel(slackfake.Channel{ID: "C1", Name: "general", Members: []string{"U1", f.BotUserID()}})

	api := slack.New(f.BotToken(), slack.OptionAppLevelToken(f.AppToken()), slack.OptionAPIURL(f.APIURL()))
	// A real app would also run socketmode.New(api) and receive f.SlashCommand(...) etc.
	_, _, err := api.PostMessage("C1", slack.MsgOptionBlocks(
		slack.NewHeaderBlock(slack.NewTextBlockObject("plain_text", "Top questions", false, false)),
		slack.NewActionBlock("", slack.NewButtonBlockElement("open", "42", slack.NewTextBlockObject("plain_text", "Open", false, false))),
	))
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	m, err := f.WaitMessage(ctx, "C1", "Top questions")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Flat())
	fmt.Println(len(f.Errors()), "errors")
	// Output:
	// # Top questions
	// [Open]
	// 0 errors
}
