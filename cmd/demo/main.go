// Command demo runs the real soebot against in-process fakes of Slack and
// Stack Overflow Enterprise on loopback and plays a scripted tour. It needs no
// configuration and no network, and exits 0 only when every step of the tour
// did what it should.
//
//	go run ./cmd/demo [-interactive [-as bob]] [-http] [-v]
//
// It is the only binary that links the fakes; the shipped bot (cmd/bot) does not.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/soebot/soebot/internal/demo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: tests call it directly.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	interactive := fs.Bool("interactive", false, "after the tour, read /soe commands from stdin and print the replies")
	as := fs.String("as", "alice", "the demo user typing in -interactive mode (alice, bob, carol, dave, erin, frank, grace, heidi, ivan, judy)")
	showHTTP := fs.Bool("http", false, "print the local URLs (bot HTTP server, fake Slack, fake SOE) to open link pages in a browser")
	poll := fs.Duration("poll", time.Second, "notification poll interval")
	verbose := fs.Bool("v", false, "print the bot's logs to stderr")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: demo [-interactive [-as alice]] [-http] [-v]\n\n"+
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
		fmt.Fprintf(stderr, "demo: unexpected argument %q\n", fs.Arg(0))
		fs.Usage()
		return 2
	}
	o := demo.Options{Out: stdout, Interactive: *interactive, In: stdin, As: *as, ShowHTTP: *showHTTP, PollInterval: *poll}
	if *verbose {
		o.Log = stderr
	}
	if err := demo.Run(ctx, o); err != nil {
		if !errors.Is(err, demo.ErrFailed) {
			fmt.Fprintln(stderr, "demo:", err)
		}
		return 1
	}
	return 0
}
