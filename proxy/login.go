package proxy

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/session"
)

// handleStart serves GET {prefix}/start?rd=URL: it clears any existing
// session and starts a login that returns to the validated rd.
func (h *Handler) handleStart(ex *exchange, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.fail(ex, r, methodNotAllowed("GET, HEAD"))
		return
	}
	if speculative(r.Header) {
		// Ahead of the click, it would end the session below.
		h.fail(ex, r, forbidden(speculativeLogin))
		return
	}
	if pageRequest(r) {
		// A page's fetch that a front proxy redirected here (ingress-nginx
		// redirects every 401): sent on, it failed cross-origin at the
		// provider with no status and made a login-state cookie each time.
		h.fail(ex, r, startByPage())
		return
	}
	// The session this browser has ends here, as a sign-out ends it
	// (endAtStart). A sign-in started from another site (a link, a
	// redirect) does not end it first: that site could otherwise sign users
	// out; the callback of its sign-in replaces it (endReplaced).
	if h.sameOrigin(ex, r) {
		h.endAtStart(ex, r)
	}
	rd := h.returnTo(ex, r.URL.Query().Get("rd"))
	if !h.onPublicHost(ex) {
		// A link or a button on another host: the login-state cookie is
		// host-only, so the login starts where its callback is.
		if strings.HasPrefix(rd, "/") {
			rd = h.cfg.PublicURL.Scheme + "://" + ex.host.String() + rd
		}
		h.startOnPublicHost(ex, r, rd)
		return
	}
	h.startLogin(ex, r, rd, nil, "")
}

// startLogin redirects to the provider's authorization endpoint with a
// fresh state, nonce and PKCE S256 verifier (RFC 7636), remembered with the
// return URL in a login-state cookie. scopes nil asks for the configured
// scopes; stepUp names the route of an incremental-authorization attempt.
func (h *Handler) startLogin(ex *exchange, r *http.Request, returnURL string, scopes []string, stepUp string) {
	if speculative(r.Header) {
		// A prefetch's login-state cookie is one the user never uses, and
		// a page of prefetched links pruned the state of the sign-in under
		// way in another tab (a browser holds a few).
		h.fail(ex, r, forbidden(speculativeLogin))
		return
	}
	if !h.login.Ready() {
		h.fail(ex, r, unavailable("the identity provider is not available yet; please retry shortly", idp.ErrNotReady))
		return
	}
	ls := &session.LoginState{
		State:     rand.Text(),
		Nonce:     rand.Text(),
		Verifier:  idp.NewPKCEVerifier(),
		ReturnURL: h.redirects.validate(returnURL),
		Scopes:    scopes,
		StepUp:    stepUp,
		IssuedAt:  h.now(),
	}
	target, err := h.login.AuthCodeURL(ls.State, ls.Nonce, ls.Verifier, scopes)
	if err != nil {
		h.fail(ex, r, err)
		return
	}
	if stepUp != "" {
		target = withQueryParam(target, "include_granted_scopes", "true")
	}
	if err := h.states.Issue(ex, r, ls); err != nil {
		h.fail(ex, r, err)
		return
	}
	h.metrics.login("started", "")
	ex.loginRedirect = true
	ex.Header().Set("Cache-Control", "no-store")
	http.Redirect(ex, r, target, http.StatusFound)
}

// startByPage is start's answer to a page's own request: the 401 of a
// request without a session, with nothing to follow.
func startByPage() *httpError {
	e := unauthenticated()
	e.reason = "a page's own request does not start a sign-in; reload the page to sign in"
	return e
}

// speculativeLogin is the reason of a prefetched start of a login.
const speculativeLogin = "a prefetch does not start a sign-in; follow the link to sign in"

// withQueryParam adds k=v to a URL's query unless it already has k.
func withQueryParam(raw, k, v string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	if q.Has(k) {
		return raw
	}
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}

// loginFailure is a failed callback: its status, the page's reason and the
// bounded metric reason.
func (h *Handler) loginFailure(status int, metricReason, reason string, cause error) *httpError {
	h.metrics.login("failed", metricReason)
	return &httpError{status: status, code: "login_failed", title: "Sign-in failed", reason: reason,
		link: h.prefix + "/start", kind: outcomeError, cause: cause}
}

// loginFor starts the login of a browser navigation that needs one. On a
// host other than public_url's the browser is first sent to public_url's
// start endpoint with the return URL: the login-state cookie is host-only
// and must be set on the host whose callback reads it.
func (h *Handler) loginFor(ex *exchange, r *http.Request) {
	ret := h.returnURL(ex)
	if strings.HasPrefix(ret, "/") {
		h.startLogin(ex, r, ret, nil, "")
		return
	}
	h.startOnPublicHost(ex, r, ret)
}

// signInRequired is the 401 of a request without identity that is no
// browser navigation. Its HTML page (a form's POST after the session
// ended, a page's fetch of HTML) says that nothing of the request reached
// the application and links to a sign-in: the gateway keeps no body across
// a sign-in, and the page said only that one was needed, with no way on.
func (h *Handler) signInRequired(ex *exchange, r *http.Request) *httpError {
	e := unauthenticated()
	if acceptsHTML(r) {
		e.reason = "You are not signed in (your session may have ended), so this request was not sent " +
			"to the application: anything you submitted was not sent. Go back to copy what you entered, then sign in."
		e.signIn = h.prefix + "/start?rd=" + rdValue(h.pageOf(ex, r))
	}
	return e
}

// pageOf is where a sign-in from the 401 page of r returns: the page r was
// sent from (its Referer, on the decided host only), else r's own URL. A
// form's action is often no page a GET may open. The decided host is the
// one the return URL names: behind a trusted front proxy it is
// X-Forwarded-Host, and r.Host the proxy's own name for the gateway, which
// a Referer never names (compared with it, the link went back to the
// form's action, or put a path of the gateway's host on the decided one).
func (h *Handler) pageOf(ex *exchange, r *http.Request) string {
	ref, err := url.Parse(r.Header.Get("Referer"))
	if err != nil || sameHost(ref.Host, ex.host) != nil || !strings.HasPrefix(ref.Path, "/") {
		return h.returnURL(ex)
	}
	rel := ref.EscapedPath()
	if ref.RawQuery != "" {
		rel += "?" + ref.RawQuery
	}
	return h.onDecidedHost(ex, boundedRel(rel))
}

// startOnPublicHost sends the browser to public_url's start endpoint with
// the absolute return URL rd.
func (h *Handler) startOnPublicHost(ex *exchange, r *http.Request, rd string) {
	ex.Header().Set("Cache-Control", "no-store")
	http.Redirect(ex, r, h.publicEndpoint("/start")+"?rd="+rdValue(rd), http.StatusFound)
}
