package linking

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// Stack Overflow for Teams Basic and Business have no OAuth: each user
// creates a personal access token (PAT) on the site and pastes it into the
// link page (Config.PersonalTokens). The link is the same one-time,
// per-user, 10-minute link as the OAuth start; the form is a same-origin
// POST (crossSite) under the same rate limit. The token is checked with
// GET /users/me, held to the same email rule as an OAuth sign-in, sealed
// like every token and never shown again. It never passes through Slack.
//
// SOE does not say whether a PAT has write access (there is no
// introspection endpoint in API v3), so the page asks the person; their
// answer is only a hint: "ticked" makes the link AccessWriteRequested, whose
// truth the first write shows (RecordWrite); "not ticked" makes it
// AccessReadOnly, so asking from Slack offers to reconnect with write access.

// maxPATLen bounds a pasted token (Stack's PATs are a few dozen characters).
const maxPATLen = 512

// patForm is what the PAT form posted.
type patForm struct {
	token string
	write bool // the person says they ticked "Enable write access"
}

// readPATForm parses the form (bounded); problem is the text to show when
// the token is missing or malformed.
func readPATForm(w http.ResponseWriter, r *http.Request) (f patForm, problem string) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	if err := r.ParseForm(); err != nil {
		return f, "The form could not be read. Paste the token again."
	}
	f.token = strings.TrimSpace(r.PostForm.Get("token"))
	f.write = r.PostForm.Get("write") == "yes"
	switch {
	case f.token == "":
		return f, "Paste your personal access token into the field."
	case len(f.token) > maxPATLen || strings.ContainsFunc(f.token, func(c rune) bool { return c <= ' ' || c >= 0x7f }):
		return f, "That does not look like a personal access token (copy it again from Stack Overflow; it has no spaces)."
	}
	return f, ""
}

// servePAT checks and stores a pasted personal access token. A token SOE
// refuses, or a malformed one, shows the form again with the link still
// live; anything else consumes the link.
func (s *Service) servePAT(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id, ok := s.livePost(w, r)
	if !ok {
		return
	}
	pend, err := s.lookupPending(ctx, id)
	if pend == nil || err != nil {
		s.continueOK(ctx, w, cmpErr(err, errLinkGone))
		return
	}
	form, problem := readPATForm(w, r)
	if problem != "" {
		s.patPage(ctx, w, http.StatusBadRequest, id, pend, problem)
		return
	}
	if s.api == nil {
		s.page(w, http.StatusInternalServerError, pageData{Title: "Something went wrong", Message: "soebot is not configured to talk to Stack Overflow."})
		return
	}
	scope, _ := soe.ParseScopeKey(pend.Scope)
	xctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	me, err := s.api.Client(scope, form.token).Me(xctx)
	if err != nil {
		s.log.WarnContext(ctx, "PAT refused", "team", pend.TeamID, "user", pend.UserID, "reason", errKind(err))
		s.patPage(ctx, w, http.StatusBadRequest, id, pend, patRefused(err))
		return
	}
	if ferr := s.checkEmail(xctx, pend.UserID, me.Email); ferr != nil {
		s.dropPending(ctx, id)
		s.patFailed(ctx, w, pend, ferr)
		return
	}
	l, resume, ferr := s.savePAT(ctx, id, scope, form, me)
	if ferr != nil {
		s.patFailed(ctx, w, pend, ferr)
		return
	}
	s.announce(ctx, w, l)
	s.runHooks(l, resume)
}

// cmpErr is err, or fallback when err is nil.
func cmpErr(err, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// patRefused says why SOE did not accept a token, without its text.
func patRefused(err error) string {
	switch {
	case errors.Is(err, soe.ErrUnauthorized):
		return "Stack Overflow did not accept this token: it may be mistyped, expired or deleted, or be for another team. Create a new one and paste it here."
	case errors.Is(err, soe.ErrForbidden):
		return "Stack Overflow refused this token for this team. Check that the token's team scope is this team."
	}
	return "Stack Overflow did not answer just now. Please press Connect again in a moment."
}

// patFailed shows ferr on the page and tells the Slack user in a DM.
func (s *Service) patFailed(ctx context.Context, w http.ResponseWriter, pend *pendingRecord, ferr *flowError) {
	s.log.WarnContext(ctx, "link failed", "team", pend.TeamID, "user", pend.UserID, "scope", pend.Scope, "reason", ferr.reason)
	s.page(w, ferr.status, pageData{Title: ferr.title, Message: ferr.msg})
	s.dm(ctx, pend.UserID, ":warning: Connecting your Stack Overflow account did not work: "+mrkdwn.Escape(ferr.msg))
}

// dropPending consumes the link id (a refused link is not tried again).
func (s *Service) dropPending(ctx context.Context, id string) {
	if err := s.db.Update(ctx, func(tx store.Tx) error { return tx.Bucket(bucketPending).Delete([]byte(hashKey(id))) }); err != nil {
		s.log.ErrorContext(ctx, "could not drop a refused link", "err", err)
	}
}

// savePAT consumes the link id and stores the link in one transaction (the
// token is sealed before it; no I/O inside), so one link id makes at most
// one link. It returns the command to resume.
func (s *Service) savePAT(ctx context.Context, id string, scope soe.Scope, f patForm, me *soe.User) (Link, *Resume, *flowError) {
	pk := hashKey(id)
	var pend pendingRecord
	var lr *linkRecord
	err := s.db.Update(ctx, func(tx store.Tx) error {
		ok, err := store.GetJSON(tx, bucketPending, pk, &pend)
		if err != nil || !ok {
			return cmpErr(err, errLinkGone)
		}
		if err := tx.Bucket(bucketPending).Delete([]byte(pk)); err != nil {
			return err
		}
		if expiredAt(s.cfg.Now(), pend.Expires) {
			return errLinkExpired
		}
		if lr, err = s.patRecord(&pend, scope, f, me); err != nil {
			return err
		}
		return putLinkTx(tx, lr, scope)
	})
	switch {
	case errors.Is(err, errLinkGone):
		return Link{}, nil, &flowError{http.StatusNotFound, pageUnknownLink.Title, "this link was already used. Run /soe link in Slack for a new one.", "link used concurrently"}
	case errors.Is(err, errLinkExpired):
		return Link{}, nil, &flowError{http.StatusGone, pageExpiredLink.Title, "the link expired (links work for 10 minutes). Run /soe link in Slack for a new one.", "link expired"}
	case err != nil:
		s.log.ErrorContext(ctx, "store link failed", "err", err)
		return Link{}, nil, &flowError{http.StatusInternalServerError, "Something went wrong", "soebot could not store the connection. Please try again.", "store failed"}
	}
	l, _ := lr.link()
	s.log.InfoContext(ctx, "linked with a personal access token", "team", l.TeamID, "user", l.UserID, "scope", l.Scope.Key(), "soe_user", l.SOEUserID, "access", l.Access())
	return l, s.pendingResume(&pend, pk), nil
}

// patRecord is the link record of a checked PAT, its token sealed. The
// access is the person's hint (see the package comment above); a PAT's
// expiry is not known to soebot (SOE answers 401 once it has passed).
func (s *Service) patRecord(pend *pendingRecord, scope soe.Scope, f patForm, me *soe.User) (*linkRecord, error) {
	lr := &linkRecord{
		V: 1, TeamID: pend.TeamID, UserID: pend.UserID, Scope: scope.Key(),
		SOEUserID: me.ID, SOEAccountID: me.AccountID, SOEName: me.Name, SOEEmail: me.Email, SOEProfileURL: me.WebURL,
		CreatedAt: s.cfg.Now(),
	}
	access := AccessReadOnly
	if f.write {
		access, lr.Scopes = AccessWriteRequested, []string{soe.ScopeWriteAccess}
	}
	lr.setAccess(access)
	var err error
	lr.Token, err = s.keys.Seal([]byte(f.token), linkAAD(pend.TeamID, pend.UserID, scope))
	return lr, err
}

// pendingResume unseals the command a pending link carries (nil if none).
func (s *Service) pendingResume(pend *pendingRecord, pk string) *Resume {
	if len(pend.Resume) == 0 {
		return nil
	}
	plain, err := s.keys.Open(pend.Resume, pendingAAD(pk))
	if err != nil {
		return nil
	}
	r := new(Resume)
	if json.Unmarshal(plain, r) != nil {
		return nil
	}
	return r
}

// patPage is the link page with the PAT form, and problem (if any) above it.
func (s *Service) patPage(ctx context.Context, w http.ResponseWriter, status int, id string, pend *pendingRecord, problem string) {
	who := s.slackWho(ctx, pend.UserID)
	s.page(w, status, pageData{
		Title: "Connect Stack Overflow", Confirm: true, PAT: true, Problem: problem,
		Workspace: who.Workspace, SlackUser: who.Full, SlackHandle: who.Handle,
		SOEHost: s.soeSite, SiteURL: s.cfg.SOEURL,
		Action: s.cfg.PublicURL + "/link/" + id, NoEmailCheck: !s.cfg.RequireEmailMatch,
	})
}
