package proxy

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// TestRefreshOfEndedSessionNotAWarning: a refresh whose session left the
// store while the provider answered (SET XX finds no key) logged
// "saving a refreshed session failed ... no session" at warn, the level of
// a store that fails, for an outcome the store reports as planned. It is
// now an info line that says the session was no longer stored; a store
// that fails (TestSignOutStoreFailureLogged's ACL) keeps a warn.
func TestRefreshOfEndedSessionNotAWarning(t *testing.T) {
	var logs syncBuffer
	var addr string
	f := newFixture(t, withDebugLog(&logs), redisAt(t, &addr))
	st := f.cfg.Sessions.(*session.RedisStore)
	s := f.session()
	s.Identity.ProviderSubject, s.Expiry = "alice", f.clock.Now().Add(30*time.Second)
	cookies := saveToStore(t, st, s)
	f.prov.refreshFn = func(string) (*idp.Tokens, *portcullis.Identity, error) {
		if _, err := st.DeleteBySubject(context.Background(), s.Identity.Issuer, "alice"); err != nil {
			t.Error(err)
		}
		id := s.Identity
		return &idp.Tokens{AccessToken: "at-2", RefreshToken: "rt-2", Expiry: f.clock.Now().Add(time.Hour)}, &id, nil
	}
	f.do(t, "GET", "/app/x", nil, withCookies(cookies))
	if f.prov.refreshes.Load() != 1 {
		t.Fatalf("refreshes = %d, want 1", f.prov.refreshes.Load())
	}
	out := logs.String()
	if w := logLines(out, "proxy: saving a refreshed session failed"); len(w) != 0 {
		t.Errorf("a warn for a session that had ended: %q", w)
	}
	lines := logLines(out, "proxy: a refreshed session was not saved: the session had ended meanwhile")
	if len(lines) != 1 || !strings.Contains(lines[0], "level=INFO") || !strings.Contains(lines[0], "sub=alice") {
		t.Errorf("lines %q:\n%s", lines, out)
	}
}
