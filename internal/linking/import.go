package linking

import (
	"context"
	"errors"
	"fmt"

	"github.com/soebot/soebot/internal/store"
)

// Imported is one link for Import: the link as the browser flow would have
// stored it, and the SOE access token to seal with it.
type Imported struct {
	Link  Link
	Token string
}

// Import stores links in one transaction, exactly as the OAuth callback
// stores one (token sealed with the vault, the SOE → Slack index updated),
// replacing any link of the same user and scope. It exists to seed large
// databases for the demo, benchmarks and load tests without running
// thousands of browser flows; the bot itself links people only through the
// flow. No hooks run and no one is told.
func (s *Service) Import(ctx context.Context, links []Imported) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	recs := make([]*linkRecord, 0, len(links))
	for _, in := range links {
		l := in.Link
		if l.TeamID == "" || l.UserID == "" || in.Token == "" || l.SOEUserID <= 0 {
			return errors.New("linking: import needs a team, a user, an SOE user id and a token")
		}
		if err := validScope(l.Scope); err != nil {
			return err
		}
		rec := &linkRecord{
			V: 1, TeamID: l.TeamID, UserID: l.UserID, Scope: l.Scope.Key(),
			SOEUserID: l.SOEUserID, SOEAccountID: l.SOEAccountID, SOEName: l.SOEName, SOEEmail: l.SOEEmail, SOEProfileURL: l.SOEProfileURL,
			Access: l.AccessState, WriteAccess: l.WriteAccess, Scopes: l.Scopes, Expiry: l.Expiry, CreatedAt: l.CreatedAt,
		}
		rec.setAccess(rec.accessState()) // no AccessState: WriteAccess means requested
		if rec.CreatedAt.IsZero() {
			rec.CreatedAt = s.cfg.Now()
		}
		var err error
		if rec.Token, err = s.keys.Seal([]byte(in.Token), linkAAD(l.TeamID, l.UserID, l.Scope)); err != nil {
			return fmt.Errorf("linking: import: %w", err)
		}
		recs = append(recs, rec)
	}
	err := s.db.Update(ctx, func(tx store.Tx) error {
		for i, rec := range recs {
			if err := putLinkTx(tx, rec, links[i].Link.Scope); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("linking: import: %w", err)
	}
	return nil
}
