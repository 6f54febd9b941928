package proxy

import (
	"context"
	"crypto/rand"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/ascii"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/session"
)

// maxLogoutBody bounds a back-channel logout request body.
const maxLogoutBody = 64 << 10

// readLogoutForm parses a back-channel logout request's form body, at most
// maxLogoutBody bytes, within the pre-read time of forwarded bodies
// (docs/endpoints.md): anyone may reach this endpoint and the listener has
// no read timeout, so a client that declared a body and never sent it
// held the request, its goroutine and buffers, for as long as it kept the
// connection open. Such a client gets 408 and its connection is closed.
func (h *Handler) readLogoutForm(ex *exchange, r *http.Request) error {
	r.Body = http.MaxBytesReader(ex, r.Body, maxLogoutBody)
	rc := http.NewResponseController(ex)
	_ = rc.SetReadDeadline(time.Now().Add(h.bodies.timeout))
	err := r.ParseForm()
	if errors.Is(err, os.ErrDeadlineExceeded) {
		abandonBody(ex, r)
		return requestTimeout(err)
	}
	_ = rc.SetReadDeadline(time.Time{})
	if err != nil {
		return logoutRefused("one logout_token form parameter is required", err)
	}
	return nil
}

// signOutUnavailable is the 503 of a sign-out the store could not carry
// out. It asks for no retry: the cookie is cleared, so a retry finds no
// session to end.
const signOutUnavailable = "the session store is not available: this browser is signed out, but the session could not be ended everywhere"

// handleSignOut serves GET or POST {prefix}/sign_out?rd=URL (docs/endpoints.md, sign_out): it
// ends the session, revokes its refresh token (RFC 7009) and goes through
// the provider's end_session_endpoint (OIDC RP-Initiated Logout 1.0) when it
// has one, then on to the validated rd.
func (h *Handler) handleSignOut(ex *exchange, r *http.Request) {
	if !h.admitSignOut(ex, r) {
		return
	}
	// The browser signs out here, whatever follows: its cache and its
	// back/forward cache of this origin still hold the signed-in user's
	// pages, which Back showed the next person on a shared computer
	// without asking the gateway. An application host's sign-out clears
	// its own origin before going on to public_url's. "cookies" is not
	// sent: it clears every cookie of the registrable domain, other
	// applications' sessions included.
	ex.Header()["Clear-Site-Data"] = clearCache
	rd := h.returnTo(ex, r.URL.Query().Get("rd"))
	// Once asked, the sign-out is carried out whether or not the browser
	// waits for its answer (closing the tab right after clicking "sign
	// out" is common): the session ended in the store and its refresh
	// token revoked, which copies of the cookie rely on.
	r, release := detached(r)
	defer release()
	s, err := h.signOutSession(r)
	if err != nil {
		// The cookie is cleared all the same (Delete clears it before it
		// asks the store): kept, it signed this browser in again as soon
		// as the store was back, after its user had signed out.
		_ = h.cfg.Sessions.Delete(ex, r)
		// Load asks the store only for a request with a session cookie:
		// a sign-out, which the store could not carry out.
		h.metrics.logout("sign_out", "store_failed")
		h.fail(ex, r, unavailable(signOutUnavailable, err))
		return
	}
	state := rand.Text()
	end := h.providerLogoutURL(s, state)
	if end != "" && !h.onPublicHost(ex) {
		h.signOutOnPublicHost(ex, r, rd)
		return
	}
	if !h.endSignOutSession(ex, r, s) {
		return
	}
	if s == nil {
		http.Redirect(ex, r, rd, http.StatusFound)
		return
	}
	h.recordSignOut(ex, r, s, end != "")
	h.leaveSignOut(ex, r, rd, end, state)
}

// providerLogoutURL is the provider's end-session URL for s, returning to
// signed_out with state; "" when there is no session or the provider has
// no end_session_endpoint.
func (h *Handler) providerLogoutURL(s *session.Session, state string) string {
	if s == nil {
		return ""
	}
	return h.logout.EndSessionURL(s.IDToken, state, h.publicEndpoint("/signed_out"))
}

// admitSignOut answers a sign-out that may not proceed and reports whether
// it may: GET or POST, from a site of the gateway's, not a prefetch.
func (h *Handler) admitSignOut(ex *exchange, r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		h.fail(ex, r, methodNotAllowed("GET, POST"))
		return false
	}
	ex.Header().Set("Cache-Control", "no-store")
	// Either method: SameSite=Lax cookies come with a cross-site top-level
	// GET navigation (a link or a redirect from another site).
	if !h.sameOrigin(ex, r) {
		h.fail(ex, r, h.signOutRefused(r))
		return false
	}
	if speculative(r.Header) {
		h.fail(ex, r, forbidden("a prefetch does not sign out; follow the link to sign out"))
		return false
	}
	return true
}

// endSignOutSession deletes the request's session, s (nil: none), and
// clears its cookie. When the store fails it answers 503 and reports
// false.
func (h *Handler) endSignOutSession(ex *exchange, r *http.Request, s *session.Session) bool {
	err := h.cfg.Sessions.Delete(ex, r)
	if err == nil {
		return true
	}
	// The cookie is cleared all the same, so this browser cannot retry:
	// revoking the refresh token ends the session left in the store
	// (and every copy of its cookie) when its access token expires. The
	// line records that revocation and the session left behind, which
	// the 503's own lines do not name the user of.
	if s != nil {
		ex.id = &s.Identity
		h.metrics.logout("sign_out", "store_failed")
		h.log.Warn("proxy: signed out, but the session store could not end the session", subAttr(s.Identity.Subject),
			slog.String("refresh_token", h.revokeRefresh(r, s)), logattr.Err(err))
	}
	h.fail(ex, r, unavailable(signOutUnavailable, err))
	return false
}

// recordSignOut notes the ended session s on the exchange, in the metrics
// and the refresher's memory, revokes its refresh token and logs the
// sign-out with what became of that token.
func (h *Handler) recordSignOut(ex *exchange, r *http.Request, s *session.Session, providerLogout bool) {
	ex.id = &s.Identity
	h.metrics.logout("sign_out", "ended")
	for _, ns := range h.successors(s) {
		h.refresher.ended(ns.RefreshToken, h.now)
		h.revokeRefresh(r, ns)
	}
	h.refresher.ended(s.RefreshToken, h.now)
	h.log.Info("proxy: signed out", subAttr(s.Identity.Subject), slog.String("refresh_token", h.revokeRefresh(r, s)),
		slog.Bool("provider_logout", providerLogout))
}

// successors are the cookie-store sessions that recent refreshes on this
// replica made from s (refresher.lookup, as handOn follows them): a refresh
// another request of the browser made moments before the sign-out (the
// favicon's) rotated the refresh token, and its answer, with the new
// cookie, may reach the browser after the sign-out's. Revoking only s's
// token, already spent, left that cookie refreshing on to lifetime.
func (h *Handler) successors(s *session.Session) []*session.Session {
	var out []*session.Session
	for range maxHandOns {
		ns := h.refresher.lookup(s.RefreshToken, s.AccessToken, h.now)
		if ns == nil || ns.ServerSide() || ns.RefreshToken == "" || ns.RefreshToken == s.RefreshToken {
			return out
		}
		out = append(out, ns)
		s = ns
	}
	return out
}

// leaveSignOut sends the signed-out browser on: to the provider's end
// (end_session_endpoint) with state remembered for signed_out, or to rd
// when there is none or the state cannot be remembered.
func (h *Handler) leaveSignOut(ex *exchange, r *http.Request, rd, end, state string) {
	if end == "" {
		http.Redirect(ex, r, rd, http.StatusFound)
		return
	}
	if err := h.states.Issue(ex, r, &session.LoginState{State: state, ReturnURL: rd, IssuedAt: h.now()}); err != nil {
		h.log.Warn("proxy: remembering the sign-out state failed", logattr.Err(err))
		http.Redirect(ex, r, rd, http.StatusFound)
		return
	}
	http.Redirect(ex, r, end, http.StatusFound)
}

// clearCache is the Clear-Site-Data of a sign-out: the HTTP cache and, in
// Chromium and Safari, the back/forward cache of the answer's origin.
var clearCache = []string{`"cache"`}

// signOutRefused is the 403 of a sign-out that may come from another site
// or host. Its page offers to sign out with a button, whose POST from the
// gateway's own page passes: an application's link is refused too when its
// page sends no Referer (Referrer-Policy no-referrer or same-origin, the
// defaults of common frameworks' security headers), or its form an Origin
// of "null", and its user was left signed in with no way on.
func (h *Handler) signOutRefused(r *http.Request) *httpError {
	e := forbidden("a sign-out asked by another site or host is refused")
	e.confirm = h.prefix + "/sign_out?rd=" + rdValue(h.redirects.validate(r.URL.Query().Get("rd")))
	return e
}

// signOutOnPublicHost sends a sign-out made on a host other than
// public_url's, whose session goes through the provider's end-session
// endpoint, to public_url's sign_out with rd made absolute on this host,
// before anything ends: the sign-out state that keeps rd is a host-only
// cookie, and the provider returns to public_url's signed_out, which
// never received one set here (the browser landed on public_url's "/").
// A session seen on another host has a cookie_domain that covers
// public_url's host (config), so the session is signed out there.
func (h *Handler) signOutOnPublicHost(ex *exchange, r *http.Request, rd string) {
	if strings.HasPrefix(rd, "/") {
		rd = h.cfg.PublicURL.Scheme + "://" + ex.host.String() + rd
	}
	http.Redirect(ex, r, h.publicEndpoint("/sign_out")+"?rd="+rdValue(rd), http.StatusFound)
}

// revokeRefresh revokes s's refresh token at the provider (RFC 7009) and
// remembers it as dead, unless the operator keeps sign-outs to the gateway
// (SignOutKeepsGrant). A copy of a cookie-store cookie outlives its
// sign-out: signing out with it again does not ask the provider again
// (revoked). A token that is only dead here, its session ended while the
// provider could not be reached, is revoked all the same: the provider
// still takes it. Sign-outs of one token at the same time share one
// revocation: the revoked mark comes only with the provider's answer, and a burst of sign-outs
// with copies of one cookie was one provider call each until then. It
// returns what became of the token, for the sign-out's log line: "none",
// "kept" (SignOutKeepsGrant), "not_revocable" (the provider publishes no
// revocation endpoint), "revoked" (now or before) or "failed".
func (h *Handler) revokeRefresh(r *http.Request, s *session.Session) string {
	rt := s.RefreshToken
	switch {
	case rt == "":
		return "none"
	case h.cfg.SignOutKeepsGrant:
		return "kept"
	case !h.logout.Revocable():
		// Nothing to call: the grant lives on at the provider, and only
		// this gateway refuses the token from now on.
		h.refresher.markDead(rt)
		return "not_revocable"
	case h.refresher.revoked(rt):
		return "revoked"
	}
	_, err, _ := h.refresher.revokes.Do(rt, func() (any, error) {
		if h.refresher.revoked(rt) {
			return nil, nil // revoked by a flight that ended as this one began
		}
		if err := h.logout.Revoke(r.Context(), rt); err != nil {
			h.log.Warn("proxy: revoking the refresh token failed", subAttr(s.Identity.Subject), logattr.Err(err))
			return nil, err
		}
		h.refresher.markDead(rt)
		h.refresher.markRevoked(rt)
		return nil, nil
	})
	if err != nil {
		return "failed"
	}
	return "revoked"
}

// signOutSession returns the request's session with its tokens (the
// refresh token to revoke, the ID token for id_token_hint), read before
// Delete ends it; nil when there is none. A session whose tokens cannot be
// read again (ended meanwhile) is signed out without them. Errors mean the
// store could not be asked.
func (h *Handler) signOutSession(r *http.Request) (*session.Session, error) {
	s, err := h.cfg.Sessions.Load(r)
	if errors.Is(err, session.ErrNoSession) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	full, err := h.cfg.Sessions.Full(r, s)
	if errors.Is(err, session.ErrNoSession) {
		return s, nil
	}
	return full, err
}

// sameOrigin reports whether a sign-out comes from a site of the gateway's
// (docs/endpoints.md, sign_out: a request whose Origin or Sec-Fetch-Site shows another
// site is refused): an Origin header, when present, must be public_url's
// origin, the request's own origin or an allowed redirect host's; no
// Sec-Fetch-Site header may say cross-site. A same-site request
// without Origin (a link's navigation, an image, a redirect) comes from a
// sibling host of the registrable domain, which need not be the gateway's:
// its Referer names the page's origin and must be one of those too, else a
// sibling's <img> signed the gateway's users out. Every Sec-Fetch-Site
// line counts, and an Origin is scheme://host[:port] alone: the first
// line of several, or an allowed host's URL with a path, was let through.
func (h *Handler) sameOrigin(ex *exchange, r *http.Request) bool {
	return h.fromOrigins(ex, r, false)
}

// fromOrigins is sameOrigin; with byName an allowed redirect host's origin
// counts only when an entry names its host, not a wildcard's
// (redirectPolicy.namesOrigin: crossOriginWebSocket).
func (h *Handler) fromOrigins(ex *exchange, r *http.Request, byName bool) bool {
	sites := r.Header.Values("Sec-Fetch-Site")
	if anyFold(sites, "cross-site") {
		return false
	}
	o := r.Header.Values("Origin")
	if len(o) == 0 {
		if !anyFold(sites, "same-site") {
			return true
		}
		o = []string{refererOrigin(r.Header)}
	}
	if len(o) > 1 || !bareOrigin(o[0]) {
		return false
	}
	// ASCII case only: strings.EqualFold took "gw.teſt", with a long s,
	// for the gateway's own "gw.test".
	own := h.cfg.PublicURL.Scheme + "://" + ex.host.String()
	if ascii.EqualFold(o[0], h.origin) || ascii.EqualFold(o[0], own) {
		return true
	}
	if byName {
		return h.redirects.namesOrigin(o[0])
	}
	return h.redirects.validate(o[0]+"/") != "/"
}

// anyFold reports whether one of vals is v, in any case.
func anyFold(vals []string, v string) bool {
	for _, x := range vals {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

// bareOrigin reports whether o is an http(s) origin as browsers send it,
// scheme://host[:port]: no user, path, query or fragment ("null" and ""
// are not).
func bareOrigin(o string) bool {
	u, err := url.Parse(o)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Hostname() != "" && u.User == nil &&
		u.Opaque == "" && u.Path == "" && u.RawQuery == "" && !u.ForceQuery && u.Fragment == ""
}

// refererOrigin is the origin (scheme://host[:port]) of the request's one
// Referer, or "" when it has none, several, or one that is no absolute
// http(s) URL.
func refererOrigin(hdr http.Header) string {
	refs := hdr.Values("Referer")
	if len(refs) != 1 {
		return ""
	}
	u, err := url.Parse(refs[0])
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// speculative reports whether r is a browser's prefetch or prerender of a
// link (Speculation Rules, <link rel=prefetch>, a preview), made before and
// without the user's click: Sec-Purpose (Chromium), Purpose (older
// Chromium, Safari), X-Purpose (Safari previews), X-Moz (Firefox). Such a
// request must not end the session: a page that prefetches its links, or
// a site that prefetches every link on hover, signed users out. Refused,
// the prefetch is dropped (browsers use only a 2xx), and the user's click
// is a navigation without these headers.
func speculative(h http.Header) bool {
	for _, k := range [...]string{"Sec-Purpose", "Purpose", "X-Purpose", "X-Moz"} {
		for _, v := range h.Values(k) {
			v = strings.ToLower(v)
			if strings.Contains(v, "prefetch") || strings.Contains(v, "prerender") || strings.Contains(v, "preview") {
				return true
			}
		}
	}
	return false
}

// handleSignedOut serves GET {prefix}/signed_out?state=, the
// post_logout_redirect_uri: it goes on to the rd saved with a state it
// issued, and to "/" for any other state. Like the callback it takes a
// single-use state, so only GET does: a HEAD (a link checker) or a POST
// must not use it up before the browser's GET.
func (h *Handler) handleSignedOut(ex *exchange, r *http.Request) {
	if !h.singleUseGET(ex, r, "a prefetch does not complete a sign-out") {
		return
	}
	target := "/"
	if st := r.URL.Query().Get("state"); st != "" {
		if ls, err := h.states.Take(ex, r, st); err == nil && ls.Verifier == "" {
			target = h.redirects.validate(ls.ReturnURL)
		}
	}
	http.Redirect(ex, r, target, http.StatusFound)
}

// handleBackchannelLogout serves POST {prefix}/backchannel_logout (OIDC
// Back-Channel Logout 1.0 §2.5-2.8): a verified logout token ends the
// sessions of its sid, else of its sub.
func (h *Handler) handleBackchannelLogout(ex *exchange, r *http.Request) {
	ex.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodPost {
		h.fail(ex, r, methodNotAllowed("POST"))
		return
	}
	if h.revoker == nil {
		h.fail(ex, r, notImplemented("back-channel logout needs the redis session store"))
		return
	}
	if err := h.readLogoutForm(ex, r); err != nil {
		h.fail(ex, r, err)
		return
	}
	if len(r.PostForm["logout_token"]) != 1 {
		h.fail(ex, r, logoutRefused("one logout_token form parameter is required", nil))
		return
	}
	raw := r.PostForm.Get("logout_token")
	sub, sid, err := h.logout.VerifyLogoutToken(r.Context(), raw)
	if err != nil || (sub == "" && sid == "") {
		h.fail(ex, r, logoutRefused("the logout token is not valid", err))
		return
	}
	// The token's issuer is the provider's (VerifyLogoutToken checks it);
	// sessions are indexed by (iss, sid) and (iss, sub) whatever user_claim
	// says.
	iss, n := h.logout.Issuer(), 0
	if sid != "" {
		n, err = h.revoker.DeleteBySID(r.Context(), iss, sid)
	} else {
		n, err = h.revoker.DeleteBySubject(r.Context(), iss, sub)
	}
	if err != nil {
		// Not recorded as used: the provider's retry ends the sessions.
		h.fail(ex, r, logoutFailed(err))
		return
	}
	if err := h.logout.MarkLogoutTokenUsed(context.WithoutCancel(r.Context()), raw); err != nil {
		h.log.Warn("proxy: a logout took effect but its token could not be recorded as used", subAttr(sub), logattr.Err(err))
	}
	h.metrics.logout("backchannel", "ended")
	h.log.Info("proxy: back-channel logout", subAttr(sub), slog.String("sid", logattr.Value(sid, maxLoggedUser)), "sessions", n)
	ex.WriteHeader(http.StatusOK)
}

// logoutRefused is the OIDC Back-Channel Logout 1.0 §2.8 answer to a bad
// logout request: 400 invalid_request with an error_description.
func logoutRefused(reason string, cause error) *httpError {
	e := badRequest(reason, cause)
	e.oauth = true
	return e
}
