package proxy

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
)

// TestSignOutEndsARefreshRacingIt (cookie store): a refresh another request
// of the browser made just before the sign-out (the favicon's) rotated the
// refresh token, and its answer, with the refreshed cookie, reached the
// browser after the sign-out's. The sign-out revoked only the token of the
// cookie it was sent with, already spent, so the browser signed out held a
// session that refreshed on to lifetime. Found by review KA. The sign-out
// now also revokes and ends the refresh token that replaced its own on
// this replica, so that cookie ends at its next refresh, as a copy of the
// cookie does (docs/sessions.md).
func TestSignOutEndsARefreshRacingIt(t *testing.T) {
	f := newFixture(t)
	next := map[string]string{"rt-0": "rt-1", "rt-1": "rt-2"} // a rotating provider
	f.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		f.prov.mu.Lock()
		revoked := slices.Contains(f.prov.revoked, rt)
		f.prov.mu.Unlock()
		if revoked || next[rt] == "" {
			return nil, nil, idp.ErrInvalidGrant
		}
		return &idp.Tokens{AccessToken: "at-" + next[rt], RefreshToken: next[rt], Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
	}
	before := nearExpiry(t, f, 10*time.Second)
	favicon := f.do(t, "GET", "/app/favicon.ico", nil, withCookies(before))
	if favicon.StatusCode != http.StatusOK || f.prov.refreshes.Load() != 1 {
		t.Fatalf("the racing request: %d, %d refreshes", favicon.StatusCode, f.prov.refreshes.Load())
	}
	raced := liveCookies(favicon) // reaches the browser after the sign-out's answer
	if out := f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(before)); out.StatusCode != http.StatusFound {
		t.Fatalf("sign-out: %d", out.StatusCode)
	}
	f.prov.mu.Lock()
	revoked := slices.Clone(f.prov.revoked)
	f.prov.mu.Unlock()
	if !slices.Contains(revoked, "rt-1") {
		t.Errorf("the sign-out revoked %q, not rt-1, which replaced its token", revoked)
	}
	f.clock.Advance(time.Hour) // the raced cookie's access token is due
	if resp := f.do(t, "GET", "/app/x", nil, withCookies(raced)); resp.StatusCode == http.StatusOK {
		t.Errorf("the cookie a refresh racing the sign-out set was refreshed and served after the sign-out (%d refreshes)", f.prov.refreshes.Load())
	}
}
