package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/session"
)

func TestSignOut(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		opts       []reqOption
		endSession bool
		wantStatus int
		wantLoc    string
	}{
		{"GET without end-session", "GET", nil, false, 302, "/after"},
		{"GET with end-session", "GET", nil, true, 302, "https://idp.test/logout?"},
		{"POST same origin", "POST", []reqOption{withHeader("Origin", "http://gw.test"), withHeader("Sec-Fetch-Site", "same-origin")}, false, 302, "/after"},
		{"POST without Origin", "POST", nil, false, 302, "/after"},
		{"POST cross origin", "POST", []reqOption{withHeader("Origin", "https://evil.test")}, false, 403, ""},
		{"POST cross-site fetch", "POST", []reqOption{withHeader("Sec-Fetch-Site", "cross-site")}, false, 403, ""},
		{"POST same-site without Origin or Referer", "POST", []reqOption{withHeader("Sec-Fetch-Site", "same-site")}, false, 403, ""},
		{"POST same-site from an allowed host", "POST", []reqOption{withHeader("Sec-Fetch-Site", "same-site"), withHeader("Origin", "http://app.test")}, false, 302, "/after"},
		{"GET same-site image from a sibling host", "GET", []reqOption{withHeader("Sec-Fetch-Site", "same-site"), withHeader("Sec-Fetch-Mode", "no-cors"), withHeader("Referer", "http://evil.gw.test/")}, false, 403, ""},
		{"GET same-site navigation from a sibling host", "GET", []reqOption{withHeader("Sec-Fetch-Site", "same-site"), withHeader("Sec-Fetch-Mode", "navigate"), withHeader("Referer", "http://evil.gw.test/page")}, true, 403, ""},
		{"GET same-site navigation without Referer", "GET", []reqOption{withHeader("Sec-Fetch-Site", "same-site"), withHeader("Sec-Fetch-Mode", "navigate")}, false, 403, ""},
		{"GET same-site navigation, two Referers", "GET", []reqOption{withHeader("Sec-Fetch-Site", "same-site"), withHeader("Referer", "http://app.test/"), withHeader("Referer", "http://evil.gw.test/")}, false, 403, ""},
		{"GET same-site navigation from an allowed host's page", "GET", []reqOption{withHeader("Sec-Fetch-Site", "same-site"), withHeader("Sec-Fetch-Mode", "navigate"), withHeader("Referer", "http://app.test/page?x=1")}, true, 302, "https://idp.test/logout?"},
		{"POST from an allowed host", "POST", []reqOption{withHeader("Origin", "http://app.test")}, false, 302, "/after"},
		{"POST from the request's own host", "POST", []reqOption{withHeader("Origin", "http://gw.test"), withHeader("Sec-Fetch-Site", "same-origin")}, false, 302, "/after"},
		{"POST with Origin null", "POST", []reqOption{withHeader("Origin", "null")}, false, 403, ""},
		{"POST from a look-alike host", "POST", []reqOption{withHeader("Origin", "http://gw.test.evil.test")}, false, 403, ""},
		{"POST from the host spelled with a long s", "POST", []reqOption{withHeader("Origin", "http://gw.te\u017ft")}, false, 403, ""},
		{"POST from an allowed host spelled with a long s", "POST", []reqOption{withHeader("Origin", "http://app.te\u017ft")}, false, 403, ""},
		{"GET cross-site navigation", "GET", []reqOption{withHeader("Sec-Fetch-Site", "cross-site"), withHeader("Sec-Fetch-Mode", "navigate")}, true, 403, ""},
		{"GET same-origin navigation", "GET", []reqOption{withHeader("Sec-Fetch-Site", "same-origin"), withHeader("Sec-Fetch-Mode", "navigate")}, false, 302, "/after"},
		{"GET typed into the address bar", "GET", []reqOption{withHeader("Sec-Fetch-Site", "none")}, false, 302, "/after"},
		{"GET cross-origin fetch", "GET", []reqOption{withHeader("Origin", "https://evil.test")}, false, 403, ""},
		{"PUT", "PUT", nil, false, 405, ""},
		{"GET prefetch (Speculation Rules)", "GET", []reqOption{withHeader("Sec-Purpose", "prefetch"), withHeader("Sec-Fetch-Site", "same-origin")}, true, 403, ""},
		{"GET prerender", "GET", []reqOption{withHeader("Sec-Purpose", "prefetch;prerender"), withHeader("Sec-Fetch-Site", "same-origin")}, true, 403, ""},
		{"GET Purpose prefetch", "GET", []reqOption{withHeader("Purpose", "prefetch")}, false, 403, ""},
		{"GET Safari preview", "GET", []reqOption{withHeader("X-Purpose", "preview")}, false, 403, ""},
		{"GET Firefox prefetch", "GET", []reqOption{withHeader("X-Moz", "prefetch")}, false, 403, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.endSession {
				f.prov.endSession = "https://idp.test/logout"
			}
			cookies := f.cookies(t, f.session())
			opts := append([]reqOption{withCookies(cookies)}, tt.opts...)
			resp := f.do(t, tt.method, "/oauth2/sign_out?rd=%2Fafter", nil, opts...)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, tt.wantLoc) {
				t.Fatalf("Location = %q, want prefix %q", loc, tt.wantLoc)
			}
			cleared := responseCookies(resp)["portcullis"]
			csd := resp.Header.Values("Clear-Site-Data")
			if tt.wantStatus != 302 {
				if cleared != nil || len(f.prov.revoked) != 0 {
					t.Fatal("a refused sign-out ended the session")
				}
				if csd != nil {
					t.Errorf("a refused sign-out sent Clear-Site-Data %q", csd)
				}
				return
			}
			if len(csd) != 1 || csd[0] != `"cache"` {
				t.Errorf("Clear-Site-Data = %q, want \"cache\" alone (never \"cookies\": other applications' sessions)", csd)
			}
			if cleared == nil || cleared.MaxAge >= 0 {
				t.Errorf("session cookie not cleared: %v", cleared)
			}
			if len(f.prov.revoked) != 1 || f.prov.revoked[0] != "rt-0" {
				t.Errorf("revoked = %v, want the refresh token", f.prov.revoked)
			}
			if !tt.endSession {
				return
			}
			u, _ := url.Parse(loc)
			q := u.Query()
			if q.Get("id_token_hint") != "idt-0" || q.Get("post_logout_redirect_uri") != "http://gw.test/oauth2/signed_out" {
				t.Errorf("end-session query = %v", q)
			}
			back := f.do(t, "GET", "/oauth2/signed_out?state="+url.QueryEscape(q.Get("state")), nil, withCookies(liveCookies(resp)))
			if back.Header.Get("Location") != "/after" {
				t.Errorf("signed_out went to %q, want /after", back.Header.Get("Location"))
			}
		})
	}
}

func TestSignedOutIgnoresUnknownState(t *testing.T) {
	f := newFixture(t)
	resp := f.do(t, "GET", "/oauth2/signed_out?state=forged", nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
		t.Fatalf("signed_out = %d %q, want 302 /", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestSignedOutOnlyGET: {prefix}/signed_out is the post_logout_redirect_uri,
// a GET navigation (docs/endpoints.md). Any other method is a 405 with
// Allow, as on every other gateway endpoint, and does not use up the
// sign-out's single-use state: a HEAD (a link checker) or a POST before the
// browser's GET would otherwise send the user to "/" instead of rd.
func TestSignedOutOnlyGET(t *testing.T) {
	for _, method := range []string{"HEAD", "POST", "PUT", "DELETE", "OPTIONS"} {
		t.Run(method, func(t *testing.T) {
			f := newFixture(t)
			target, state := signOutToProvider(t, f)
			other := f.do(t, method, target, nil, state)
			if other.StatusCode != http.StatusMethodNotAllowed || other.Header.Get("Allow") != "GET" {
				t.Fatalf("%s signed_out = %d Allow %q, want 405 Allow GET", method, other.StatusCode, other.Header.Get("Allow"))
			}
			if c := responseCookies(other); len(c) != 0 {
				t.Errorf("%s signed_out set cookies %v", method, c)
			}
			back := f.do(t, "GET", target, nil, state)
			if back.StatusCode != http.StatusFound || back.Header.Get("Location") != "/after" {
				t.Errorf("GET signed_out after %s = %d %q, want 302 /after", method, back.StatusCode, back.Header.Get("Location"))
			}
		})
	}
}

// signOutToProvider signs a session of f out with rd=/after through a
// provider's end_session_endpoint, and returns the signed_out URL the
// provider sends the browser back to and the cookies its state rides on.
func signOutToProvider(t *testing.T, f *fixture) (target string, state reqOption) {
	t.Helper()
	f.prov.endSession = "https://idp.test/logout"
	resp := f.do(t, "GET", "/oauth2/sign_out?rd=%2Fafter", nil, withCookies(f.cookies(t, f.session())))
	u, _ := url.Parse(resp.Header.Get("Location"))
	return "/oauth2/signed_out?state=" + url.QueryEscape(u.Query().Get("state")), withCookies(liveCookies(resp))
}

// TestSignedOutIsNotUsedUpByAPrefetch: a prefetch of signed_out (a page
// that prefetches its links) is refused and leaves the single-use state
// for the browser's own visit, which then goes on to rd.
func TestSignedOutIsNotUsedUpByAPrefetch(t *testing.T) {
	f := newFixture(t)
	target, state := signOutToProvider(t, f)
	if pre := f.do(t, "GET", target, nil, state, withHeader("Sec-Purpose", "prefetch")); pre.StatusCode != http.StatusForbidden {
		t.Fatalf("prefetched signed_out = %d, want 403", pre.StatusCode)
	}
	if back := f.do(t, "GET", target, nil, state); back.Header.Get("Location") != "/after" {
		t.Errorf("signed_out after a prefetch went to %q, want /after", back.Header.Get("Location"))
	}
}

// revokingStore is a cookie store that can also end sessions by sub or sid,
// standing in for the redis store.
type revokingStore struct {
	session.Store
	bySub, bySID []string
	err          error
}

var _ session.Revoker = (*revokingStore)(nil)

// DeleteBySubject records "iss sub".
func (s *revokingStore) DeleteBySubject(ctx context.Context, iss, sub string) (int, error) {
	s.bySub = append(s.bySub, iss+" "+sub)
	return 1, s.err
}

// DeleteBySID records "iss sid".
func (s *revokingStore) DeleteBySID(ctx context.Context, iss, sid string) (int, error) {
	s.bySID = append(s.bySID, iss+" "+sid)
	return 1, s.err
}

func TestBackchannelLogout(t *testing.T) {
	t.Run("cookie store answers 501", func(t *testing.T) {
		f := newFixture(t)
		resp := f.do(t, "POST", "/oauth2/backchannel_logout", strings.NewReader("logout_token=good-logout-token"),
			withHeader("Content-Type", "application/x-www-form-urlencoded"))
		if resp.StatusCode != http.StatusNotImplemented || resp.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("status = %d", resp.StatusCode)
		}
		checkLogoutError(t, resp, "not_implemented", "error_description")
	})
	iss := newFixture(t).prov.Issuer() // the logout token's issuer: the provider's
	tests := []struct {
		name       string
		method     string
		body       string
		sub, sid   string
		storeErr   error
		wantStatus int
		wantSub    []string
		wantSID    []string
		wantError  string // the JSON error code of a refusal
		wantReason string // the key of its explanation: error_description (§2.8) or reason
	}{
		{"GET", "GET", "", "", "", nil, 405, nil, nil, "method_not_allowed", "reason"},
		{"by sid", "POST", "logout_token=good-logout-token", "alice", "sid-1", nil, 200, nil, []string{iss + " sid-1"}, "", ""},
		{"by sub", "POST", "logout_token=good-logout-token", "alice", "", nil, 200, []string{iss + " alice"}, nil, "", ""},
		{"invalid token", "POST", "logout_token=forged", "alice", "", nil, 400, nil, nil, "invalid_request", "error_description"},
		{"missing token", "POST", "x=1", "alice", "", nil, 400, nil, nil, "invalid_request", "error_description"},
		{"two tokens", "POST", "logout_token=good-logout-token&logout_token=good-logout-token", "alice", "", nil, 400, nil, nil, "invalid_request", "error_description"},
		{"store failure", "POST", "logout_token=good-logout-token", "alice", "", errors.New("down"), 400, []string{iss + " alice"}, nil, "logout_failed", "error_description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs := &revokingStore{err: tt.storeErr}
			f := newFixture(t, func(c *Config) { rs.Store = c.Sessions; c.Sessions = rs })
			f.prov.logoutSub, f.prov.logoutSID = tt.sub, tt.sid
			resp := f.do(t, tt.method, "/oauth2/backchannel_logout", strings.NewReader(tt.body),
				withHeader("Content-Type", "application/x-www-form-urlencoded"))
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.wantStatus, readBody(t, resp))
			}
			if resp.Header.Get("Cache-Control") != "no-store" {
				t.Error("no Cache-Control: no-store")
			}
			if tt.wantError != "" {
				checkLogoutError(t, resp, tt.wantError, tt.wantReason)
			}
			if strings.Join(rs.bySub, ",") != strings.Join(tt.wantSub, ",") || strings.Join(rs.bySID, ",") != strings.Join(tt.wantSID, ",") {
				t.Errorf("ended by sub %v sid %v, want %v %v", rs.bySub, rs.bySID, tt.wantSub, tt.wantSID)
			}
			// Only a logout that took effect records its token as used, so
			// that the provider's retry of a failed one is accepted.
			if want := tt.storeErr == nil && tt.wantStatus == 200; (len(f.prov.marked) == 1) != want || len(f.prov.marked) > 1 {
				t.Errorf("MarkLogoutTokenUsed calls %q, want one: %v", f.prov.marked, want)
			}
		})
	}
}

// checkLogoutError checks a back-channel logout refusal's JSON body: the
// error code, and its explanation under key alone (docs/endpoints.md).
func checkLogoutError(t *testing.T, resp *http.Response, code, key string) {
	t.Helper()
	var body map[string]string
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("body is not a JSON object of strings: %v", err)
	}
	if body["error"] != code || body[key] == "" || len(body) != 2 {
		t.Errorf("body = %v, want error %q with a %s", body, code, key)
	}
}

// TestBackchannelLogoutSlowBody: the back-channel logout endpoint, which
// anyone may reach, reads its form body within the pre-read time like a
// forwarded body: a client that declares a body and sends it too slowly,
// or not at all, gets 408 and its connection is closed. It used to wait
// for the body without a bound (the listener has no read timeout), so
// every such connection held a goroutine and its buffers for as long as
// the client kept it open.
func TestBackchannelLogoutSlowBody(t *testing.T) {
	rs := &revokingStore{}
	f := newFixture(t, func(c *Config) { rs.Store = c.Sessions; c.Sessions = rs })
	f.h.bodies.timeout = 300 * time.Millisecond
	f.prov.logoutSub = "alice"
	srv := serveGateway(t, f)
	head := "POST /oauth2/backchannel_logout HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	start := time.Now()
	resp := rawRequest(t, srv, head+"Content-Length: 100\r\n\r\nlogout_to", false)
	if resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Errorf("stalled body: status %d, close %v, want 408 and the connection closed", resp.StatusCode, resp.Close)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answered after %v", d)
	}
	if len(rs.bySub) != 0 {
		t.Errorf("a stalled request ended sessions: %v", rs.bySub)
	}
	body := "logout_token=good-logout-token"
	resp = rawRequest(t, srv, head+"Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body, false)
	if resp.StatusCode != http.StatusOK || len(rs.bySub) != 1 {
		t.Errorf("a body in time: status %d, ended %v", resp.StatusCode, rs.bySub)
	}
}

// failingDeleteStore reads sessions, but cannot end them: Delete clears the
// cookies, as the Redis store does, and fails, as it does on a Redis that
// has become a read-only replica (READONLY) or is out of memory.
type failingDeleteStore struct{ session.Store }

func (s failingDeleteStore) Delete(w http.ResponseWriter, r *http.Request) error {
	_ = s.Store.Delete(w, r)
	return errors.New("READONLY You can't write against a read only replica.")
}

// TestSignOutRevokesWhenTheStoreCannotEndTheSession: when the store can
// read the session but not end it, the sign-out is a 503, and the browser's
// cookie is cleared anyway, so the browser cannot retry. The session left
// in the store (and every copy of the cookie) used to live until lifetime,
// refresh token and all; the refresh token is now revoked anyway, so that
// the session ends when its access token expires.
func TestSignOutRevokesWhenTheStoreCannotEndTheSession(t *testing.T) {
	base := newFixture(t)
	f := newFixture(t, func(c *Config) { c.Sessions = failingDeleteStore{base.store} })
	resp := f.do(t, "GET", "/oauth2/sign_out?rd=%2Fafter", nil, withCookies(base.cookies(t, base.session())))
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", resp.StatusCode)
	}
	if csd := resp.Header.Get("Clear-Site-Data"); csd != `"cache"` {
		t.Errorf("Clear-Site-Data = %q, want \"cache\": this browser is signed out", csd)
	}
	if len(f.prov.revoked) != 1 || f.prov.revoked[0] != "rt-0" {
		t.Errorf("revoked = %v, want the refresh token of the session the store could not end", f.prov.revoked)
	}
}

// TestSignOutKeepsGrant: with SignOutKeepsGrant (revoke_on_sign_out =
// false) a sign-out ends the session and clears the cookie but asks the
// provider to revoke nothing, also when the store cannot end the session
// (503), where the revocation would otherwise stand in for it.
func TestSignOutKeepsGrant(t *testing.T) {
	base := newFixture(t)
	for _, tc := range []struct {
		name  string
		store session.Store
		want  int
	}{
		{"store ends the session", nil, http.StatusFound},
		{"store cannot end the session", failingDeleteStore{base.store}, http.StatusServiceUnavailable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				c.SignOutKeepsGrant = true
				if tc.store != nil {
					c.Sessions = tc.store
				}
			})
			src := f
			if tc.store != nil {
				src = base
			}
			resp := f.do(t, "GET", "/oauth2/sign_out?rd=%2Fafter", nil, withCookies(src.cookies(t, src.session())))
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.want)
			}
			if c := responseCookies(resp)["portcullis"]; c == nil || c.MaxAge >= 0 {
				t.Errorf("session cookie not cleared: %v", c)
			}
			if len(f.prov.revoked) != 0 {
				t.Errorf("revoked %q, want nothing", f.prov.revoked)
			}
		})
	}
}

// countingReader counts the bytes read from r.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestBackchannelLogoutBodyBounded: anyone may POST to the back-channel
// logout endpoint, and it reads its form into memory: at most 64 KiB of it.
// Go's own bound on a form is 10 MiB per request; an 8 MiB logout_token is
// refused with 400 after the first 64 KiB, and ends nothing.
func TestBackchannelLogoutBodyBounded(t *testing.T) {
	rs := &revokingStore{}
	f := newFixture(t, func(c *Config) { rs.Store = c.Sessions; c.Sessions = rs })
	f.prov.logoutSub = "alice"
	body := &countingReader{r: io.MultiReader(strings.NewReader("logout_token=good-logout-token&x="),
		strings.NewReader(strings.Repeat("a", 8<<20)))}
	resp := f.do(t, "POST", "/oauth2/backchannel_logout", body,
		withHeader("Content-Type", "application/x-www-form-urlencoded"))
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("an 8 MiB form: status %d, want 400", resp.StatusCode)
	}
	if body.n > maxLogoutBody+32<<10 {
		t.Errorf("the gateway read %d KiB of the form, want at most %d KiB", body.n>>10, maxLogoutBody>>10)
	}
	if len(rs.bySub) != 0 {
		t.Errorf("an oversized form ended sessions: %v", rs.bySub)
	}
}
