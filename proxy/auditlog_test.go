package proxy

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestRequestLineSaysWhyRefused: a refused request's line carries the
// code and the reason its client was shown, so that an investigation
// reading the log learns which rule, group or scope refused it, or why a
// token was not taken. The line said only outcome=denied before; the
// reason was on the page alone. An allowed request's line has neither.
func TestRequestLineSaysWhyRefused(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, withDebugLog(&logs))
	plain := f.session()
	plain.Identity.Groups = []string{"staff"}
	cookies := withCookies(f.cookies(t, plain))
	for _, c := range []struct {
		name, target string
		opts         []reqOption
		status       int
		want         string // on the line; "" for none of code= and reason=
	}{
		{"group", "/admin/x", []reqOption{cookies}, 403, `code=forbidden reason="not in any of groups: admins"`},
		{"scope", "/api/x", []reqOption{cookies}, 403, `code=insufficient_scope reason="missing scope api:write"`},
		{"deny", "/denied/x", []reqOption{cookies}, 403, `route=deny-all outcome=denied status=403`},
		{"deny reason", "/denied/x", []reqOption{cookies}, 403, `code=forbidden reason="route denies all requests"`},
		{"token", "/app/x", []reqOption{withHeader("Authorization", "Bearer forged")}, 401, `code=invalid_token reason="the bearer token is not valid"`},
		{"no identity", "/app/x", nil, 401, `code=unauthenticated reason=`},
		{"allowed", "/app/x", []reqOption{cookies}, 200, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(logs.String())
			if resp := f.do(t, "GET", c.target, nil, c.opts...); resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			lines := logLines(logs.String()[before:], "request")
			if len(lines) != 1 {
				t.Fatalf("%d request lines:\n%s", len(lines), logs.String()[before:])
			}
			if c.want == "" {
				if strings.Contains(lines[0], " code=") || strings.Contains(lines[0], " reason=") {
					t.Errorf("an allowed request's line names a refusal: %s", lines[0])
				}
				return
			}
			if !strings.Contains(lines[0], c.want) {
				t.Errorf("line lacks %s:\n%s", c.want, lines[0])
			}
		})
	}
}

// TestSignInAndSignOutLogged: a completed sign-in and a sign-out each
// have a line of their own naming the user: the sign-in its issuer, the
// sign-out what became of the refresh token at the provider and whether
// the browser goes on to the provider's logout. Before, neither had one:
// a request line for /oauth2/callback or /oauth2/sign_out with status 302
// was all, the same as a callback refused before any exchange.
func TestSignInAndSignOutLogged(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, withDebugLog(&logs))
	f.prov.identity.Issuer = "https://idp.test"
	f.prov.endSession = "https://idp.test/logout"
	state, cookies := startLogin(t, f, "/app/x")
	resp := f.do(t, "GET", "/oauth2/callback?code=c0de&state="+url.QueryEscape(state), nil, withCookies(cookies), browser())
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("callback = %d", resp.StatusCode)
	}
	in := logLines(logs.String(), "proxy: signed in")
	if len(in) != 1 || !strings.Contains(in[0], "level=INFO") || !strings.Contains(in[0], "sub=alice issuer=https://idp.test") {
		t.Fatalf("sign-in lines %q:\n%s", in, logs.String())
	}
	out := f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(liveCookies(resp)))
	if out.StatusCode != http.StatusFound || len(f.prov.revoked) != 1 {
		t.Fatalf("sign-out = %d, revoked %q", out.StatusCode, f.prov.revoked)
	}
	lines := logLines(logs.String(), "proxy: signed out")
	if len(lines) != 1 || !strings.Contains(lines[0], "sub=alice refresh_token=revoked provider_logout=true") {
		t.Fatalf("sign-out lines %q:\n%s", lines, logs.String())
	}
	for _, secret := range []string{"rt-1", "at-1", "idt-1", "c0de"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q:\n%s", secret, logs.String())
		}
	}
}

// TestSignOutLineSaysRevocationFailed: a refresh token the provider did not
// revoke is "failed" on the sign-out's line, next to the warning that says
// why, so that an investigation knows the grant may outlive the sign-out.
func TestSignOutLineSaysRevocationFailed(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, withDebugLog(&logs))
	s := f.session()
	s.RefreshToken = "rt-cancelled"
	f.prov.revokeErr = errors.New("idp: revocation: status 400")
	f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(f.cookies(t, s)))
	lines := logLines(logs.String(), "proxy: signed out")
	if len(lines) != 1 || !strings.Contains(lines[0], "refresh_token=failed provider_logout=false") {
		t.Fatalf("sign-out lines %q:\n%s", lines, logs.String())
	}
}

// TestSignOutLineSaysNotRevocable: with a provider that publishes no
// revocation endpoint the grant outlives the sign-out at the provider, and
// the line says so instead of "revoked"; the token is still refused here.
func TestSignOutLineSaysNotRevocable(t *testing.T) {
	var logs syncBuffer
	f := newFixture(t, withDebugLog(&logs))
	f.prov.noRevocation = true
	s := f.session()
	s.RefreshToken = "rt-unrevocable"
	f.do(t, "GET", "/oauth2/sign_out", nil, withCookies(f.cookies(t, s)))
	lines := logLines(logs.String(), "proxy: signed out")
	if len(lines) != 1 || !strings.Contains(lines[0], "refresh_token=not_revocable ") {
		t.Fatalf("sign-out lines %q:\n%s", lines, logs.String())
	}
	if len(f.prov.revoked) != 0 {
		t.Errorf("Revoke called with %q for a provider without a revocation endpoint", f.prov.revoked)
	}
	if !f.h.refresher.dead("rt-unrevocable") {
		t.Error("the signed-out session's refresh token is not refused by this gateway")
	}
}

// TestBackchannelLogoutLineNamesSID: a logout token may name only the
// provider's session (sid), and its line then named no one (sub="").
func TestBackchannelLogoutLineNamesSID(t *testing.T) {
	var logs syncBuffer
	rs := &revokingStore{}
	f := newFixture(t, withDebugLog(&logs), func(c *Config) { rs.Store = c.Sessions; c.Sessions = rs })
	f.prov.logoutSID = "sid-\u009b1"
	resp := f.do(t, "POST", "/oauth2/backchannel_logout", strings.NewReader("logout_token=good-logout-token"),
		withHeader("Content-Type", "application/x-www-form-urlencoded"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	lines := logLines(logs.String(), "proxy: back-channel logout")
	if len(lines) != 1 || !strings.Contains(lines[0], "sid=\"sid-\ufffd1\"") {
		t.Fatalf("back-channel lines %q:\n%s", lines, logs.String())
	}
}
