package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/soebot/soebot/internal/demo"
)

func init() { subcommands["demo"] = runDemo }

// runDemo is "bot demo": the real bot against in-process fakes of Slack and
// SOE on loopback, playing a scripted tour. It needs no configuration and no
// network, and exits 0 only when every step of the tour did what it should.
func runDemo(ctx context.Context, args []string, _ func(string) (string, bool), stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bot demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	interactive := fs.Bool("interactive", false, "after the tour, read /soe commands from stdin and print the replies")
	as := fs.String("as", "alice", "the demo user typing in -interactive mode (alice, bob, carol, dave, erin, frank, grace, heidi, ivan, judy)")
	showHTTP := fs.Bool("http", false, "print the local URLs (bot HTTP server, fake Slack, fake SOE) to open link pages in a browser")
	poll := fs.Duration("poll", time.Second, "notification poll interval")
	verbose := fs.Bool("v", false, "print the bot's logs to stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: bot demo [-interactive [-as alice]] [-http] [-v]\n\n"+
			"Runs soebot against a fake Slack and a fake Stack Overflow Enterprise on this machine\n"+
			"and plays a tour of its features. Exit status 0 means every step did what it should.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bot demo: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	o := demo.Options{Out: stdout, Interactive: *interactive, In: os.Stdin, As: *as, ShowHTTP: *showHTTP, PollInterval: *poll}
	if *verbose {
		o.Log = stderr
	}
	if err := demo.Run(ctx, o); err != nil {
		if !errors.Is(err, demo.ErrFailed) {
			fmt.Fprintln(stderr, "bot demo:", err)
		}
		return 1
	}
	return 0
}
