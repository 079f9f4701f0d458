package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
	"github.com/soebot/soebot/internal/store"
	"github.com/soebot/soebot/internal/vault"
)

// The crash child and the parent share these.
const (
	crashTeam = "T0ACME"
	// ids are burned per generation so every generation's questions get
	// ids no earlier generation used (the fake SOE restarts with each child).
	idsPerGeneration = 80
	maxQuestionsGen  = 25
)

var crashKey = bytes.Repeat([]byte{7}, vault.KeySize)

// crashStoreOptions are the product's store options (app.StoreOptions) plus
// the notification buckets, in case they are not registered there yet.
func crashStoreOptions(log *slog.Logger) store.Options {
	o := app.StoreOptions(log)
	for _, b := range notify.Buckets() {
		if !slices.ContainsFunc(o.Buckets, func(x []byte) bool { return bytes.Equal(x, b) }) {
			o.Buckets = append(o.Buckets, b)
		}
	}
	return o
}

func childMain(mode string) int {
	switch mode {
	case "crash":
		if err := crashChild(); err != nil {
			fmt.Fprintln(os.Stderr, "crash child:", err)
			return 3
		}
		return 0
	case "second":
		return secondChild()
	}
	fmt.Fprintln(os.Stderr, "unknown child mode", mode)
	return 2
}

// memSlack is the few chat.Slack methods notify uses, in memory.
type memSlack struct {
	chat.Slack
	mu   sync.Mutex
	n    int
	msgs map[string][]slack.Message
}

func (m *memSlack) Post(_ context.Context, channel string, msg chat.Message) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.n++
	ts := fmt.Sprintf("%d.%06d", time.Now().Unix(), m.n)
	sm := slack.Message{}
	sm.Timestamp, sm.Text = ts, msg.Text
	if msg.Metadata != nil {
		sm.Metadata = *msg.Metadata
	}
	if m.msgs == nil {
		m.msgs = map[string][]slack.Message{}
	}
	m.msgs[channel] = append([]slack.Message{sm}, m.msgs[channel]...)
	return ts, nil
}

func (m *memSlack) DM(ctx context.Context, user string, msg chat.Message) (string, string, error) {
	ts, err := m.Post(ctx, "D"+user, msg)
	return "D" + user, ts, err
}

func (m *memSlack) History(_ context.Context, channel string, _ time.Time, limit int) ([]slack.Message, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.msgs[channel]
	return slices.Clone(h[:min(limit, len(h))]), nil
}

// crashChild writes in a loop and prints one acknowledgement line per
// committed write:
//
//	ACK link <slack user> <soe user id>
//	ACK sub <subscription id>
//	ACK delivery <delivery id>
func crashChild() error {
	path := os.Getenv("SOEBOT_REL_DB")
	gen, _ := strconv.Atoi(os.Getenv("SOEBOT_REL_GEN"))
	seed, _ := strconv.ParseUint(os.Getenv("SOEBOT_REL_SEED"), 10, 64)
	rng := rand.New(rand.NewPCG(seed, uint64(gen)))
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)

	db, err := store.Open(path, crashStoreOptions(log))
	if err != nil {
		return err
	}
	keys, err := vault.NewKeyring(crashKey)
	if err != nil {
		return err
	}
	fake := soefake.New(soefake.Options{AutoApprove: true, Seed: true})
	for range gen * idsPerGeneration {
		fake.AddQuestion(soe.TeamScope("security"), 2, "filler", "filler", "vault")
	}
	ln, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	public := "http://" + ln.Addr().String()
	api := soe.NewService(soe.Config{APIURL: fake.APIURL(), Logger: log})
	links, err := linking.New(linking.Config{PublicURL: public, SOEURL: fake.URL(), WriteAccess: true, NoExpiry: true},
		db, keys, soe.OAuthConfig{SiteURL: fake.URL(), ClientID: fake.ClientID(), RedirectURL: public + "/oauth/callback"},
		api, nil, log)
	if err != nil {
		return err
	}
	go func() { _ = (&http.Server{Handler: links.Handler(), ReadHeaderTimeout: 5 * time.Second}).Serve(ln) }()
	ns, err := notify.New(notify.Options{DB: db, Slack: &memSlack{}, Links: links, Logger: log})
	if err != nil {
		return err
	}
	acked := map[string]bool{} // deliveries acknowledged by earlier generations too
	if ds, err := ns.Deliveries(ctx); err == nil {
		for _, d := range ds {
			acked[d.ID] = d.Status == notify.StatusDone
		}
	}
	fmt.Println("READY")

	logins := []string{"alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"}
	linked := []string{}
	questions, subs := 0, 0
	for i := 0; ; i++ {
		switch op := i % 3; {
		case op == 0 || len(linked) == 0:
			login := logins[rng.IntN(len(logins))]
			user := fmt.Sprintf("U%d%s%d", gen, strings.ToUpper(login), i)
			soeID, err := linkThroughFlow(ctx, links, fake, user, login)
			if err != nil {
				return fmt.Errorf("link %s: %w", user, err)
			}
			linked = append(linked, user)
			fmt.Printf("ACK link %s %d\n", user, soeID)
		case op == 1:
			// A few channels follow tag go (they get the deliveries); the
			// other subscriptions name tags nobody uses, so the outbox does
			// not grow with the square of the run.
			req := notify.SubscribeRequest{
				TeamID: crashTeam, ChannelID: fmt.Sprintf("C%dX%d", gen, subs/40), CreatorID: linked[rng.IntN(len(linked))],
				Scope: soe.MainSite(), Tags: []string{fmt.Sprintf("t%d-%d", gen, i)},
			}
			existing, err := ns.ScopeSubscriptions(ctx, soe.MainSite())
			if err != nil {
				return err
			}
			if n := len(slices.DeleteFunc(existing, func(s notify.Subscription) bool { return !slices.Contains(s.Tags, "go") })); n < 3 {
				req.ChannelID, req.Tags = fmt.Sprintf("C%dGO%d", gen, n), []string{"go"}
			}
			subs++
			sub, err := ns.Subscribe(ctx, req)
			if err != nil {
				return fmt.Errorf("subscribe: %w", err)
			}
			fmt.Printf("ACK sub %s\n", sub.ID)
		default:
			if questions < maxQuestionsGen {
				fake.AddQuestion(soe.MainSite(), 5, fmt.Sprintf("Generation %d question %d", gen, i), "How do I do this in Go?", "go")
				questions++
			}
			if _, err := ns.RunOnce(ctx); err != nil {
				return fmt.Errorf("notify cycle: %w", err)
			}
			ds, err := ns.Deliveries(ctx)
			if err != nil {
				return err
			}
			for _, d := range ds {
				if d.Status == notify.StatusDone && !acked[d.ID] {
					acked[d.ID] = true
					fmt.Printf("ACK delivery %s\n", d.ID)
				}
			}
		}
	}
}

// linkThroughFlow links user as login through the real HTTP flow: Begin,
// Continue, SOE consent (auto-approved), callback.
func linkThroughFlow(ctx context.Context, links *linking.Service, fake *soefake.Server, user, login string) (int, error) {
	u, err := links.Begin(ctx, crashTeam, user, soe.MainSite(), nil)
	if err != nil {
		return 0, err
	}
	jar, _ := cookiejar.New(nil)
	su, _ := url.Parse(fake.URL())
	jar.SetCookies(su, []*http.Cookie{{Name: "login", Value: login, Path: "/"}})
	c := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte("Connected")) {
		return 0, fmt.Errorf("callback page %d: %s", resp.StatusCode, body)
	}
	return fake.UserByName(login).ID, nil
}

type ack struct{ kind, id, extra string }

// TestCrashDurability kills a writing child process with SIGKILL at random
// moments, then checks that every write it acknowledged is in the reopened
// file and that the file passes bbolt's consistency check.
func TestCrashDurability(t *testing.T) {
	kills := *killsN
	if kills <= 0 {
		kills = 20
		if soakDuration() > 0 {
			kills = 500
		}
	}
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 1))
	path := filepath.Join(t.TempDir(), "soebot.db")
	var all []ack
	counts := map[string]int{}
	beforeReady := 0
	start := time.Now()
	for gen := range kills {
		acks, ready := runAndKill(t, path, gen, seed, rng)
		if !ready {
			beforeReady++
		}
		all = append(all, acks...)
		for _, a := range acks {
			counts[a.kind]++
		}
		verifyCrashDB(t, path, all)
		if t.Failed() {
			t.Fatalf("seed %d: generation %d failed", seed, gen)
		}
	}
	t.Logf("survived %d SIGKILLs (%d before the child was ready) in %v; acknowledged writes verified: %d links, %d subscriptions, %d deliveries (seed %d)",
		kills, beforeReady, time.Since(start).Round(time.Millisecond), counts["link"], counts["sub"], counts["delivery"], seed)
	if counts["link"] == 0 || counts["sub"] == 0 || counts["delivery"] == 0 {
		t.Errorf("the child did not exercise every write path: %v", counts)
	}
}

// runAndKill starts the child on path and SIGKILLs it at a random moment.
func runAndKill(t *testing.T, path string, gen int, seed uint64, rng *rand.Rand) ([]ack, bool) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=crash", "SOEBOT_REL_DB="+path,
		"SOEBOT_REL_GEN="+strconv.Itoa(gen), "SOEBOT_REL_SEED="+strconv.FormatUint(seed, 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	// One kill in five lands while the child is still starting (opening the
	// file, migrating); the others while it writes.
	var delay time.Duration
	waitReady := rng.IntN(5) != 0
	if waitReady {
		delay = time.Duration(rng.IntN(400)) * time.Millisecond
	} else {
		delay = time.Duration(rng.IntN(150)) * time.Millisecond
	}
	var acks []ack
	ready := false
	timer := time.NewTimer(delay)
	if waitReady {
		timer.Stop()
	}
	deadline := time.After(30 * time.Second)
loop:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				break loop
			}
			if l == "READY" {
				ready = true
				if waitReady {
					timer.Reset(delay)
				}
				continue
			}
			if f := strings.Fields(l); len(f) >= 3 && f[0] == "ACK" {
				acks = append(acks, ack{kind: f[1], id: f[2], extra: strings.Join(f[3:], " ")})
			}
		case <-timer.C:
			_ = cmd.Process.Signal(syscall.SIGKILL)
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("generation %d: child never got killed", gen)
		}
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("generation %d: child ended by itself (%v):\n%s", gen, err, stderr.String())
	}
	return acks, ready
}

// verifyCrashDB reopens the file, checks it and looks for every acknowledged write.
func verifyCrashDB(t *testing.T, path string, acks []ack) {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if len(acks) > 0 {
			t.Fatal("database file missing after acknowledged writes")
		}
		return
	}
	db, err := store.Open(path, crashStoreOptions(log))
	if err != nil {
		t.Fatalf("reopen after SIGKILL: %v", err)
	}
	defer db.Close()
	if err := db.Check(); err != nil {
		t.Fatalf("consistency check after SIGKILL: %v", err)
	}
	keys, _ := vault.NewKeyring(crashKey)
	links, err := linking.New(linking.Config{}, db, keys, soe.OAuthConfig{}, nil, nil, log)
	if err != nil {
		t.Fatal(err)
	}
	ns, err := notify.New(notify.Options{DB: db, Slack: &memSlack{}, Links: links, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ds, err := ns.Deliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]string{}
	for _, d := range ds {
		done[d.ID] = d.Status
	}
	for _, a := range acks {
		switch a.kind {
		case "link":
			ls, err := links.Links(ctx, crashTeam, a.id)
			// (Links of earlier generations may be marked invalid: their
			// fake SOE is gone, so the poller's calls with them got 401.)
			if err != nil || len(ls) != 1 || strconv.Itoa(ls[0].SOEUserID) != a.extra {
				t.Errorf("acknowledged link of %s lost: %+v %v", a.id, ls, err)
			}
		case "sub":
			if _, ok, err := ns.Subscription(ctx, a.id); !ok || err != nil {
				t.Errorf("acknowledged subscription %s lost (%v)", a.id, err)
			}
		case "delivery":
			if done[a.id] != notify.StatusDone {
				t.Errorf("acknowledged delivery %s is %q after the crash", a.id, done[a.id])
			}
		}
	}
}

// --- a second process on the same file --------------------------------------

// secondChild builds the bot (app.New, as bot does) on SOEBOT_REL_DB while
// another process holds it, and reports what happened like bot would.
func secondChild() int {
	env := map[string]string{
		"SLACK_APP_TOKEN": "xapp-1-test", "SLACK_BOT_TOKEN": "xoxb-test", "SLACK_API_URL": "http://127.0.0.1:9/api/",
		"SOE_URL": "http://127.0.0.1:9", "SOE_CLIENT_ID": "1", "PUBLIC_URL": "http://127.0.0.1:9",
		"HTTP_ADDR": "127.0.0.1:0", "ADMIN_ADDR": "127.0.0.1:0", "DB_PATH": os.Getenv("SOEBOT_REL_DB"),
		"TOKEN_KEY": base64.StdEncoding.EncodeToString(crashKey),
	}
	cfg, err := app.LoadConfig(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		fmt.Fprintln(os.Stderr, "bot:", err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := app.New(ctx, cfg, app.Options{Logger: log})
	if err != nil {
		log.Error("cannot start", "err", err)
		if errors.Is(err, store.ErrLocked) {
			return 4
		}
		return 1
	}
	fmt.Println("STARTED", a.HTTPAddr())
	return 0
}

// TestSecondProcessFailsFast starts the real bot, then a second process on
// the same database: it must give up within seconds with a message that
// names the file and the reason, and the running bot must keep working.
func TestSecondProcessFailsFast(t *testing.T) {
	r := start(t)
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=second", "SOEBOT_REL_DB="+r.DBPath())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(15 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("the second process hangs on the locked database (then killed: %v)", <-done)
	}
	took := time.Since(began)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 4 {
		t.Fatalf("second process: %v (want exit 4, ErrLocked)\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	msg := stderr.String()
	for _, want := range []string{"database is locked by another process", r.DBPath()} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q:\n%s", want, msg)
		}
	}
	if took > 5*time.Second {
		t.Errorf("the second process needed %v to give up", took)
	}
	t.Logf("second process gave up after %v: %s", took.Round(time.Millisecond), strings.TrimSpace(msg))
	// The first bot is unaffected.
	r.sees(r.slash("UALICE", "CGENERAL", "help"), "/soe help")
}
