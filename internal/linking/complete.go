package linking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/soe"
)

// openedFlow is what a consumed state record unseals to.
type openedFlow struct {
	scope    soe.Scope
	verifier []byte
	resume   *Resume
}

// complete finishes a consumed flow: exchange, users/me, email check, store,
// DM, page and hooks. It returns nil when it wrote the success page.
func (s *Service) complete(ctx context.Context, w http.ResponseWriter, rec *stateRecord, state, code string) *flowError {
	f, ferr := s.openFlow(rec, state, code)
	if ferr != nil {
		return ferr
	}
	xctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	tok, me, ferr := s.signIn(xctx, f, code)
	if ferr != nil {
		return ferr
	}
	if ferr := s.checkEmail(xctx, rec.UserID, me.Email); ferr != nil {
		return ferr
	}
	l, ferr := s.saveLink(ctx, rec, f.scope, tok, me)
	if ferr != nil {
		return ferr
	}
	s.announce(ctx, w, l)
	s.runHooks(l, f.resume)
	return nil
}

// openFlow checks the callback's code and unseals the state record.
func (s *Service) openFlow(rec *stateRecord, state, code string) (*openedFlow, *flowError) {
	if code == "" {
		return nil, &flowError{http.StatusBadRequest, "Sign-in failed", "Stack Overflow did not send an authorization code. Run /soe link to try again.", "no code"}
	}
	scope, err := soe.ParseScopeKey(rec.Scope)
	if err != nil {
		return nil, &flowError{http.StatusBadRequest, "Sign-in failed", "the link record is damaged. Run /soe link to try again.", "bad scope"}
	}
	sk := hashKey(state)
	verifier, err := s.keys.Open(rec.Verifier, stateAAD(sk))
	if err != nil {
		return nil, &flowError{http.StatusBadRequest, "Sign-in failed", "the sign-in could not be verified (the bot's keys changed). Run /soe link to try again.", "verifier undecryptable"}
	}
	f := &openedFlow{scope: scope, verifier: verifier}
	if len(rec.Resume) > 0 {
		if plain, err := s.keys.Open(rec.Resume, stateAAD(sk)); err == nil {
			f.resume = new(Resume)
			if json.Unmarshal(plain, f.resume) != nil {
				f.resume = nil
			}
		}
	}
	if s.api == nil {
		clear(verifier)
		return nil, &flowError{http.StatusInternalServerError, "Sign-in failed", "soebot is not configured to talk to Stack Overflow.", "no api"}
	}
	return f, nil
}

// signIn exchanges the code (with the PKCE verifier, which it then wipes)
// and asks SOE who the token belongs to.
func (s *Service) signIn(ctx context.Context, f *openedFlow, code string) (*soe.Token, *soe.User, *flowError) {
	tok, err := s.oauth.Exchange(ctx, code, string(f.verifier))
	clear(f.verifier)
	if err != nil {
		var oe *soe.OAuthError
		msg := "Stack Overflow did not answer. Run /soe link to try again."
		if errors.As(err, &oe) {
			msg = "Stack Overflow refused the sign-in (" + truncate(oe.Message, 200) + "). Run /soe link to try again."
		}
		return nil, nil, &flowError{http.StatusBadGateway, "Sign-in failed", msg, "exchange failed: " + errKind(err)}
	}
	me, err := s.api.Client(f.scope, tok.AccessToken).Me(ctx)
	if err != nil {
		return nil, nil, &flowError{http.StatusBadGateway, "Sign-in failed", "Stack Overflow did not tell soebot who you are (" + errKind(err) + "). Run /soe link to try again.", "users/me failed: " + errKind(err)}
	}
	return tok, me, nil
}

// emailCheckHelp is what to do when an address is unknown; it names the
// switch and its risk plainly.
const emailCheckHelp = "Ask your Slack or soebot administrator for help. " +
	"The soebot operator can switch this check off (LINK_REQUIRE_EMAIL_MATCH=false), but then anyone who opens a link " +
	"can connect their own Stack Overflow account to the Slack user who asked for it."

// checkEmail enforces Config.RequireEmailMatch: the link completes only when
// the Slack user's and the SOE account's addresses are both known and equal
// (case-insensitive). An unknown address is a refusal, not a pass: a Slack
// user whose address the bot cannot see could otherwise forward the link to
// a colleague and act on SOE as them.
func (s *Service) checkEmail(ctx context.Context, slackUser, soeEmail string) *flowError {
	if !s.cfg.RequireEmailMatch {
		return nil
	}
	soeEmail = strings.TrimSpace(soeEmail)
	if soeEmail == "" {
		return &flowError{http.StatusForbidden, "Accounts not verified",
			"Stack Overflow did not tell soebot the email address of the account you signed in with, so soebot cannot check that it " +
				"belongs to the Slack user who asked for this link, and did not connect it. " + emailCheckHelp,
			"soe email unknown"}
	}
	if s.slack == nil {
		return &flowError{http.StatusInternalServerError, "Sign-in not verified", "soebot is not configured to talk to Slack.", "no slack"}
	}
	u, err := s.slack.UserInfo(ctx, slackUser)
	if err != nil {
		return &flowError{http.StatusBadGateway, "Sign-in not verified", "soebot could not check your Slack account's email address. Please try again in a moment.", "users.info failed"}
	}
	slackEmail := strings.TrimSpace(u.Profile.Email)
	if slackEmail == "" {
		return slackEmailUnknown()
	}
	if !strings.EqualFold(slackEmail, soeEmail) {
		return &flowError{http.StatusForbidden, "Accounts do not match",
			"the Stack Overflow account you signed in with does not have the same email address as the Slack account that asked for this link, so it was not connected. " +
				"Sign in to Stack Overflow as yourself and run /soe link again. If you opened someone else's link, close the tab.",
			"email mismatch"}
	}
	return nil
}

func slackEmailUnknown() *flowError {
	return &flowError{http.StatusForbidden, "Accounts not verified",
		"soebot cannot see the email address of the Slack user who asked for this link (a guest account, a hidden address, or the app " +
			"lacks Slack's users:read.email permission), so it cannot check that this Stack Overflow account is theirs, and does not " +
			"connect it. " + emailCheckHelp,
		"slack email unknown"}
}

// saveLink seals the token and stores the link.
func (s *Service) saveLink(ctx context.Context, rec *stateRecord, scope soe.Scope, tok *soe.Token, me *soe.User) (Link, *flowError) {
	scopes := tok.Scopes
	if len(scopes) == 0 {
		scopes = rec.Scopes
	}
	lr := &linkRecord{
		V: 1, TeamID: rec.TeamID, UserID: rec.UserID, Scope: scope.Key(),
		SOEUserID: me.ID, SOEAccountID: me.AccountID, SOEName: me.Name, SOEEmail: me.Email, SOEProfileURL: me.WebURL,
		Scopes: scopes, Expiry: tok.Expiry, CreatedAt: s.cfg.Now(),
	}
	lr.setAccess(initialAccess(tok, rec.Scopes))
	var err error
	if lr.Token, err = s.keys.Seal([]byte(tok.AccessToken), linkAAD(rec.TeamID, rec.UserID, scope)); err != nil {
		return Link{}, &flowError{http.StatusInternalServerError, "Something went wrong", "soebot could not store the connection. Please try again.", "seal failed"}
	}
	if err := s.storeLink(ctx, lr, scope); err != nil {
		s.log.ErrorContext(ctx, "store link failed", "err", err)
		return Link{}, &flowError{http.StatusInternalServerError, "Something went wrong", "soebot could not store the connection. Please try again.", "store failed"}
	}
	l, _ := lr.link()
	s.log.InfoContext(ctx, "linked", "team", l.TeamID, "user", l.UserID, "scope", l.Scope.Key(), "soe_user", l.SOEUserID, "access", l.Access())
	return l, nil
}

// initialAccess is what a new link's token is known to allow: the scopes
// the token endpoint reported, if it did (SOE does not document it); else
// what was requested, which for write access is only a request.
func initialAccess(tok *soe.Token, requested []string) AccessState {
	switch {
	case len(tok.Scopes) > 0 && tok.HasScope(soe.ScopeWriteAccess):
		return AccessReadWrite
	case len(tok.Scopes) > 0:
		return AccessReadOnly
	case contains(requested, soe.ScopeWriteAccess):
		return AccessWriteRequested
	}
	return AccessReadOnly
}

// unknownGrant explains "read-write requested" where it is shown.
const unknownGrant = " Stack Overflow does not say which access it granted; soebot will know after your first post from Slack."

// announce writes the success page and DMs the Slack user.
func (s *Service) announce(ctx context.Context, w http.ResponseWriter, l Link) {
	note := ""
	if l.AccessState == AccessWriteRequested {
		note = unknownGrant
	}
	s.page(w, http.StatusOK, pageData{Title: "Connected", Success: true,
		Message: fmt.Sprintf("Connected as %s (%s, %s).%s You can close this tab and go back to Slack.", l.SOEName, l.Access(), l.Scope.String(), note)})
	s.dm(ctx, l.UserID, fmt.Sprintf(":white_check_mark: Connected as %s (%s, %s).%s Not you? Run `/soe unlink`.",
		mrkdwn.Escape(l.SOEName), l.Access(), l.Scope.String(), note))
}
