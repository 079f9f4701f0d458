package linking

import (
	"net/http"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/soebot/soebot/internal/soe"
)

// holdWriteLock starts a write transaction that lasts until the test ends
// (or the returned release is called), and returns once it holds the lock.
func holdWriteLock(t *testing.T, e *tenv) (release func()) {
	t.Helper()
	held, done, finished := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		_ = e.db.Update(func(*bbolt.Tx) error {
			close(held)
			<-done
			return nil
		})
	}()
	<-held
	var once bool
	release = func() {
		if !once {
			once = true
			close(done)
			<-finished
		}
	}
	t.Cleanup(release)
	return release
}

// TestUnknownIDsDoNotTakeTheWriteLock: while another request holds bbolt's
// single write lock for a long time, requests with unknown link ids, unknown
// states, expired links and a callback from the wrong browser are still
// answered at once (they only read).
func TestUnknownIDsDoNotTakeTheWriteLock(t *testing.T) {
	e := newEnv(t)
	expired := e.begin("UBOB", soe.MainSite(), nil)
	e.advance(11 * time.Minute)
	owner := e.browser("alice")
	cb := e.continueFlow(owner, e.begin("UALICE", soe.MainSite(), nil))

	release := holdWriteLock(t, e)
	c := &http.Client{Timeout: 2 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	cases := []struct {
		name, method, url string
		want              int
	}{
		{"link page, unknown id", http.MethodGet, e.public + "/link/" + randomID(), http.StatusNotFound},
		{"continue, unknown id", http.MethodPost, e.public + "/link/" + randomID(), http.StatusNotFound},
		{"continue, expired link", http.MethodPost, expired, http.StatusGone},
		{"callback, unknown state", http.MethodGet, e.public + "/oauth/callback?code=x&state=" + randomID(), http.StatusBadRequest},
		{"callback from another browser", http.MethodGet, cb, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, tc.url, nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("not answered while a write transaction was open: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	release()
	// The owner's flow is intact: the wrong browser did not consume it.
	if p := get(t, owner, cb); p.Status != http.StatusOK {
		t.Fatalf("owner's callback after the probes: %d %s", p.Status, p.Body)
	}
}
