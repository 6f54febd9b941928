package proxy

import (
	"crypto/rand"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// TestCachedSessionRefreshAndSignOut: requests after the first get the
// store's copy of the session without its tokens (session.Session.Elided).
// A refresh still presents the session's refresh token, the refreshed
// session keeps all its tokens, and a sign-out after cached requests
// revokes the current refresh token and sends the sign-in's ID token as
// id_token_hint (one from a refresh is never published).
func TestCachedSessionRefreshAndSignOut(t *testing.T) {
	f := newFixture(t)
	f.prov.endSession = "https://idp.test/logout"
	f.prov.refreshFn = func(rt string) (*idp.Tokens, *portcullis.Identity, error) {
		if rt != "rt-0" {
			return nil, nil, fmt.Errorf("refresh with %q, want rt-0", rt)
		}
		return &idp.Tokens{AccessToken: "at-2", RefreshToken: "rt-2", IDToken: "idt-2",
			Expiry: f.clock.Now().Add(time.Hour)}, &f.prov.identity, nil
	}
	cookies := f.cookies(t, f.session())
	for i := range 2 {
		if resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies)); resp.StatusCode != 200 {
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	if s, err := f.store.Load(withCookiesRequest(cookies)); err != nil || !s.Elided() || s.RefreshToken != "" {
		t.Fatalf("the store's copy: %+v, %v; want it without tokens", s, err)
	}

	f.clock.Advance(59*time.Minute + 30*time.Second) // within the refresh margin
	resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies))
	if resp.StatusCode != 200 || f.prov.refreshes.Load() != 1 {
		t.Fatalf("refresh of a cached session: status %d, refreshes %d", resp.StatusCode, f.prov.refreshes.Load())
	}
	if u := f.up.last(t).Header.Get("X-Forwarded-User"); u != "alice" {
		t.Errorf("identity after the refresh = %q", u)
	}
	cookies = liveCookies(resp)
	s, err := f.storedSession(cookies)
	if err != nil || s.AccessToken != "at-2" || s.RefreshToken != "rt-2" || s.IDToken != "idt-0" {
		t.Fatalf("refreshed session: %+v, %v", s, err)
	}
	for i := range 2 {
		if resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies)); resp.StatusCode != 200 || f.prov.refreshes.Load() != 1 {
			t.Fatalf("request %d after the refresh: status %d, refreshes %d", i, resp.StatusCode, f.prov.refreshes.Load())
		}
	}

	out := f.do(t, "GET", "/oauth2/sign_out?rd=%2Fafter", nil, withCookies(cookies))
	if out.StatusCode != 302 {
		t.Fatalf("sign-out: status %d", out.StatusCode)
	}
	if len(f.prov.revoked) != 1 || f.prov.revoked[0] != "rt-2" {
		t.Errorf("revoked %q, want the current refresh token", f.prov.revoked)
	}
	loc, _ := url.Parse(out.Header.Get("Location"))
	if hint := loc.Query().Get("id_token_hint"); hint != "idt-0" {
		t.Errorf("id_token_hint = %q, want the sign-in's ID token (Location %s)", hint, loc)
	}
}

// TestStepUpOfCachedSessionKeepsTokens: the step-up attempt is recorded on
// the full session: the cookie the step-up sets carries the attempt and
// every token of the session.
func TestStepUpOfCachedSessionKeepsTokens(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	if resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies)); resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	resp := f.do(t, "GET", "/api/x", nil, browser(), withCookies(cookies))
	if resp.StatusCode != 302 {
		t.Fatalf("step-up: status %d", resp.StatusCode)
	}
	c := responseCookies(resp)["portcullis"]
	if c == nil || c.Value == "" {
		t.Fatalf("the step-up set no session cookie: %q", resp.Header["Set-Cookie"])
	}
	s, err := f.storedSession(liveCookies(resp))
	if err != nil || len(s.StepUps) != 1 || s.AccessToken != "at-0" || s.RefreshToken != "rt-0" || s.IDToken != "idt-0" {
		t.Fatalf("session after the step-up: %+v, %v", s, err)
	}
}

// TestAccessTokenHeaderFromCachedSession: the access-token header carries
// the session's token on cached requests, whether the store keeps access
// tokens (as the gateway configures it when the header is set) or not.
func TestAccessTokenHeaderFromCachedSession(t *testing.T) {
	for _, keep := range []bool{true, false} {
		t.Run(fmt.Sprintf("KeepAccessToken=%v", keep), func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				c.Headers.AccessToken = "X-Forwarded-Access-Token"
				secret := make([]byte, 32)
				_, _ = rand.Read(secret)
				store, err := session.NewCookieStore(session.CookieConfig{Name: "portcullis", Secrets: [][]byte{secret},
					Lifetime: 12 * time.Hour, Now: c.Now}, session.StoreOptions{KeepAccessToken: keep})
				if err != nil {
					t.Fatal(err)
				}
				c.Sessions = store
			})
			f.store = f.cfg.Sessions.(*session.CookieStore)
			cookies := f.cookies(t, f.session())
			for i := range 2 {
				if resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies)); resp.StatusCode != 200 {
					t.Fatalf("request %d: status %d", i, resp.StatusCode)
				}
				if at := f.up.last(t).Header.Get("X-Forwarded-Access-Token"); at != "at-0" {
					t.Errorf("request %d: access-token header = %q, want at-0", i, at)
				}
			}
			s, err := f.store.Load(withCookiesRequest(cookies))
			if err != nil || (s.AccessToken == "at-0") != keep {
				t.Errorf("the store's copy holds access token %q (%v), keep %v", s.AccessToken, err, keep)
			}
		})
	}
}
