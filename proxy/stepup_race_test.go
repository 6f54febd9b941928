package proxy

import (
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// afterFullStore is a Redis store that runs hook after each Full: what
// another replica does between a request's read of the session's tokens
// and its write.
type afterFullStore struct {
	*session.RedisStore
	hook func()
}

func (s *afterFullStore) Full(r *http.Request, sess *session.Session) (*session.Session, error) {
	full, err := s.RedisStore.Full(r, sess)
	if s.hook != nil {
		s.hook()
	}
	return full, err
}

// TestStepUpDoesNotUndoRefresh (Redis store, two replicas): a step-up
// recorded its attempt by saving the session it had read, outside the
// session's lock. When another replica refreshed the session in between (a
// provider that rotates refresh tokens: rt-0 is spent for rt-1), the
// step-up wrote rt-0 and the old access token back over it: the next
// refresh presented the spent token and the session ended (a provider with
// reuse detection revokes the whole grant), and until then the session
// carried the identity from before the refresh.
func TestStepUpDoesNotUndoRefresh(t *testing.T) {
	var st *session.RedisStore
	hooked := &afterFullStore{}
	f := newFixture(t, func(c *Config) {
		st = realRedisStore(t, c.Now)
		hooked.RedisStore = st
		c.Sessions = hooked
	})
	spent := map[string]bool{}
	refresh := func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		if spent[rt] {
			return nil, nil, idp.ErrInvalidGrant
		}
		spent[rt] = true
		return &idp.Tokens{AccessToken: "at-1", RefreshToken: "rt-1", Expiry: f.clock.Now().Add(2 * time.Hour)}, &f.prov.identity, nil
	}
	other := newFixture(t, func(c *Config) { c.Sessions = st }) // a second replica, on the same Redis
	other.prov.refreshFn = refresh
	f.prov.refreshFn = refresh
	other.clock.Advance(59*time.Minute + 30*time.Second) // its clock is ahead: the token is due there

	cookies := saveToStore(t, st, f.session())
	var once bool
	hooked.hook = func() {
		if once {
			return
		}
		once = true
		if resp := other.do(t, "GET", "/app/x", nil, withCookies(cookies)); resp.StatusCode != http.StatusOK {
			t.Fatalf("the other replica's request: %d", resp.StatusCode)
		}
	}
	resp := f.do(t, "GET", "/api/x", nil, browser(), withCookies(cookies))
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("step-up: %d, want 302", resp.StatusCode)
	}
	if !once {
		t.Fatal("the step-up read no tokens")
	}
	s, err := st.Load(withCookiesRequest(cookies))
	if err == nil {
		s, err = st.Full(withCookiesRequest(cookies), s)
	}
	if err != nil {
		t.Fatalf("session after the step-up: %v", err)
	}
	if s.RefreshToken != "rt-1" || s.AccessToken != "at-1" {
		t.Errorf("after a refresh and a step-up Redis holds refresh token %q, access token %q: the refresh was undone", s.RefreshToken, s.AccessToken)
	}
	if len(s.StepUps) == 0 {
		t.Errorf("the step-up attempt was not recorded: %v", s.StepUps)
	}
}
