package proxy

import (
	"crypto/subtle"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/session"
)

// badCallbackMessage is the sign-in page's reason for a callback whose state
// or code is unknown, expired or used.
const badCallbackMessage = "This sign-in link is unknown, expired or was already used."

// exchangeFailure is the sign-in page of a failed code exchange: what the
// user can do about a refused account or an unreadable directory is said;
// anything else stays generic (the cause is logged).
func (h *Handler) exchangeFailure(err error) *httpError {
	status, reason := http.StatusBadGateway, "exchange_failed"
	msg := "The sign-in could not be completed with the identity provider."
	var de *idp.DirectoryError
	switch {
	case errors.Is(err, idp.ErrCodeRefused):
		// A made-up, expired or replayed code: the callback's fault, as
		// an unknown state is (4xx), not a failing provider's (502).
		status, reason, msg = http.StatusBadRequest, "bad_code", badCallbackMessage
	case errors.Is(err, idp.ErrInvalidToken):
		reason = "invalid_id_token"
	case errors.Is(err, idp.ErrInvalidTokenResponse):
		reason = "invalid_token_response"
		msg = "The sign-in could not be completed: the identity provider's answer to the token request is invalid. Ask your administrator; the gateway's log names the fault."
	case errors.Is(err, idp.ErrNotReady):
		reason = "provider_unavailable"
	case errors.Is(err, idp.ErrAmbiguousList):
		status, reason = http.StatusForbidden, "unsupported_group"
		msg = "The sign-in was refused: one of your groups has a comma in its name, which the groups header cannot pass on to the application. Ask your administrator to rename the group or to send group IDs."
	case errors.Is(err, idp.ErrGroupsElsewhere):
		status, reason = http.StatusForbidden, "unsupported_group"
		msg = "The sign-in was refused: the identity provider reports that you have too many groups to list in its token, and this gateway is not set up to read them elsewhere. Ask your administrator."
	case errors.Is(err, idp.ErrUnverifiedEmail):
		status, reason = http.StatusForbidden, "unverified_email"
		msg = "The sign-in was refused: your email address, which this gateway uses as your user name, is not verified by the identity provider. Verify it there, then sign in again."
	case errors.Is(err, idp.ErrNoUserClaim):
		reason = "user_claim"
		msg = "The sign-in could not be completed: the identity provider sent no claim to name you by (the gateway's user_claim). Ask your administrator; the gateway's log names the claim."
	case errors.Is(err, idp.ErrHostedDomain):
		status, reason = http.StatusForbidden, "hosted_domain"
		msg = "This Google account is not an account of the organisation's Google Workspace domain. Sign in with your work account."
	case errors.Is(err, idp.ErrUserReadBudget):
		// This user's own sign-ins spent their directory reads: only
		// they wait, within a minute (not the directory's whole quota).
		e := h.loginFailure(http.StatusTooManyRequests, "directory_budget",
			"You signed in too many times in the last minute. Please wait a minute, then sign in again.", err)
		e.retryAfter = "60"
		return e
	case errors.As(err, &de):
		// Never an identity without its groups: the sign-in fails.
		reason = "directory_unavailable"
		msg = "The sign-in could not be completed: your group memberships could not be read from the directory. Please try again in a few minutes."
		if de.Hint != "" {
			msg = "The sign-in could not be completed. " + de.Hint
		}
	}
	return h.loginFailure(status, reason, msg, err)
}

// singleUseGET starts an endpoint that takes a single-use state (the
// callback, signed_out): its answer is not stored nor its URL sent on as a
// Referer, and only the browser's own GET may use the state up, not
// another method (a link checker's HEAD) nor a prefetch (refused with
// prefetchReason). It reports whether to go on.
func (h *Handler) singleUseGET(ex *exchange, r *http.Request, prefetchReason string) bool {
	ex.Header().Set("Cache-Control", "no-store")
	ex.Header().Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet {
		h.fail(ex, r, methodNotAllowed("GET"))
		return false
	}
	if speculative(r.Header) {
		h.fail(ex, r, forbidden(prefetchReason))
		return false
	}
	return true
}

// handleCallback serves GET {prefix}/callback, the redirect URI (RFC 6749
// §4.1.2): it checks the response's shape and issuer before redeeming the
// code once, then issues a fresh session and returns to the saved URL.
func (h *Handler) handleCallback(ex *exchange, r *http.Request) {
	// A prefetch would take the single-use state and redeem the code
	// before the browser's own visit, which would then fail.
	if !h.singleUseGET(ex, r, "a prefetch does not complete a sign-in") {
		return
	}
	q := r.URL.Query()
	if err := h.checkCallbackParams(q); err != nil {
		h.fail(ex, r, err)
		return
	}
	if q.Has("code") {
		// A slot before the state is taken: a callback refused as busy
		// keeps its state, and reloading it completes the sign-in.
		release, ok := h.exchangeSlot()
		if !ok {
			h.fail(ex, r, h.loginBusy())
			return
		}
		defer release()
	}
	ls, err := h.takeLoginState(ex, r, q.Get("state"))
	if err != nil {
		h.fail(ex, r, err)
		return
	}
	if q.Has("error") {
		// Only once the state is ours: its text is then shown.
		h.fail(ex, r, h.providerRefusal(q, ls))
		return
	}
	h.finishLogin(ex, r, q.Get("code"), ls)
}

// takeLoginState takes the login state the callback's state names, once,
// and refuses one this gateway did not issue for a login or that another
// replica accepted. It comes before anything of the response is shown: a
// crafted link must not put provider-looking text on the gateway's page.
func (h *Handler) takeLoginState(ex *exchange, r *http.Request, state string) (*session.LoginState, error) {
	ls, err := h.states.Take(ex, r, state)
	if err == nil && subtle.ConstantTimeCompare([]byte(ls.State), []byte(state)) != 1 {
		err = errors.New("proxy: login state does not match")
	}
	if err == nil && ls.Verifier == "" {
		// A sign-out's state (no PKCE verifier, no nonce) is no login state.
		err = errors.New("proxy: the state was not issued for a login")
	}
	if err != nil {
		return nil, h.loginFailure(http.StatusBadRequest, "bad_state", badStateReason(r), err)
	}
	if err := h.stateUnused(r, ls); err != nil {
		return nil, err
	}
	return ls, nil
}

// providerRefusal is the page of a callback that carries the provider's
// error (RFC 6749 §4.1.2.1): shown escaped, with a link to try again;
// never another login started by ourselves.
func (h *Handler) providerRefusal(q url.Values, ls *session.LoginState) *httpError {
	reason := "The identity provider refused the sign-in: " + q.Get("error")
	if d := q.Get("error_description"); d != "" {
		reason += " (" + d + ")"
	}
	e := h.loginFailure(http.StatusForbidden, "provider_error", logattr.Truncate(reason, 300), nil)
	e.cause = errors.New("provider error " + logattr.Truncate(q.Get("error"), 64))
	e.link = h.retryLink(ls.ReturnURL)
	return e
}

// retryLink is the "Try again" link of a failed sign-in whose login state
// was read: a new sign-in that returns where that one would have, not to
// "/", which was all the link of a failed callback offered.
func (h *Handler) retryLink(returnURL string) string {
	return h.prefix + "/start?rd=" + rdValue(h.redirects.validate(returnURL))
}

// badStateReason is the page's reason for a callback whose state matches
// no login state. One that brought no cookie at all is also what a browser
// that blocks the gateway's cookies sends, every time: the page said only
// "unknown, expired or already used", and trying again ended there again
// with nothing to go on. A reloaded callback brings the session cookie.
func badStateReason(r *http.Request) string {
	if len(r.Header["Cookie"]) > 0 {
		return badCallbackMessage
	}
	return badCallbackMessage + " Your browser sent no cookies with it: if trying again ends here too, allow cookies for this site."
}

// stateUnused refuses ls's state when another replica that shares the
// Redis store completed a sign-in with it: Take remembers accepted states
// in this process only, and a copy of a callback (its URL and its
// login-state cookie) replayed to another replica was redeemed again, which
// only the provider's single use of codes stopped. It only reads: a state
// is claimed (claimState) once its sign-in has succeeded, so a callback
// that fails (an error, a made-up code) writes nothing to Redis. Without a
// shared store there is nothing to ask.
func (h *Handler) stateUnused(r *http.Request, ls *session.LoginState) error {
	if h.replay == nil {
		return nil
	}
	used, err := h.replay.Used(r.Context(), loginStateKey+ls.State)
	if err != nil {
		h.metrics.login("failed", "session_store")
		return unavailable("the session store is not available; please retry shortly", err)
	}
	if used {
		return h.stateTaken()
	}
	return nil
}

// claimState accepts ls's state once across every replica that shares the
// Redis store (SET NX), after its code was redeemed and before its session
// is saved: of two copies of one callback redeemed at once, one signs in.
// Claimed earlier, every callback with a state that /start hands anyone
// held a Redis key for up to 10 minutes, a flood of them filling a Redis
// that must not evict (docs/security.md, "Sign-in is not an amplifier").
func (h *Handler) claimState(r *http.Request, ls *session.LoginState) error {
	if h.replay == nil {
		return nil
	}
	first, err := h.replay.FirstUse(r.Context(), loginStateKey+ls.State, stateClaimTTL)
	if err != nil {
		h.metrics.login("failed", "session_store")
		return unavailable("the session store is not available; please retry shortly", err)
	}
	if !first {
		return h.stateTaken()
	}
	return nil
}

// stateTaken is the failure of a state another replica accepted.
func (h *Handler) stateTaken() *httpError {
	return h.loginFailure(http.StatusBadRequest, "bad_state",
		badCallbackMessage,
		errors.New("proxy: login state already accepted on another replica"))
}

// stateClaimTTL is how long a state's claim lasts from the sign-in that
// made it: the state's whole validity and a margin, as the logout markers'.
// It was the issue (by the clock of the replica that issued the state) plus
// LoginStateTTL, less now on this replica's: replicas whose clocks differ by
// d shortened it by d, and one behind still accepted the state, and
// redeemed its code again, once Redis had forgotten the claim.
const stateClaimTTL = session.LoginStateTTL + 2*time.Minute

// loginStateKey prefixes a state among the replay guard's one-time keys.
const loginStateKey = "login-state\x00"

// maxLoginExchanges caps the code exchanges in flight. Each is a token
// request with the gateway's client credentials, then userinfo and
// directory reads, and any anonymous client can start one per state that
// /start hands it: unbounded, a flood of made-up codes spends the client's
// quota at the provider, which every sign-in and refresh shares
// (docs/security.md, "Sign-in is not an amplifier").
const maxLoginExchanges = 32

// exchangeSlot takes one of the maxLoginExchanges slots, or reports false
// at once when all are taken: a flood is refused, never queued.
func (h *Handler) exchangeSlot() (release func(), ok bool) {
	select {
	case h.exchanges <- struct{}{}:
		return func() { <-h.exchanges }, true
	default:
		return nil, false
	}
}

// loginBusy is the 503 of a callback refused because maxLoginExchanges
// are in flight; Retry-After says when to reload it.
func (h *Handler) loginBusy() *httpError {
	h.metrics.login("failed", "busy")
	e := unavailable("The gateway is completing many sign-ins at once. Reload this page in a moment to finish yours.", nil)
	e.title, e.retry = "Sign-in busy", true
	return e
}

// checkCallbackParams refuses, before any token request, a callback with a
// repeated code, state or iss, a code together with an error, no state, or
// an iss that is missing where RFC 9207 requires it or differs from the
// provider's issuer (when one is configured).
func (h *Handler) checkCallbackParams(q url.Values) error {
	bad := func(reason string) error {
		h.metrics.login("failed", "bad_request")
		e := badRequest(reason, nil)
		e.title, e.link = "Sign-in failed", h.prefix+"/start"
		return e
	}
	for _, k := range []string{"code", "state", "iss", "error"} {
		if len(q[k]) > 1 {
			return bad("The sign-in response repeats the parameter " + k + ".")
		}
	}
	if q.Has("code") && q.Has("error") {
		return bad("The sign-in response carries both a code and an error.")
	}
	if q.Get("state") == "" {
		return bad("The sign-in response carries no state.")
	}
	if !q.Has("code") && !q.Has("error") {
		return bad("The sign-in response carries neither a code nor an error.")
	}
	iss, hasIss := q["iss"]
	if h.login.IssuerParameterSupported() && !hasIss {
		return bad("The sign-in response does not name its issuer.")
	}
	// Plain OAuth 2.0 (no issuer configured, no discovery) has no issuer
	// to compare with: a provider that sends iss anyway (RFC 9207 servers
	// do in every response) was refused at every sign-in. Its one
	// authorization server leaves no mix-up for iss to reveal.
	if hasIss && h.login.Issuer() != "" && iss[0] != h.login.Issuer() {
		return bad("The sign-in response comes from another issuer.")
	}
	return nil
}

// finishLogin redeems the code and saves a fresh session (never reusing the
// old cookie: no session fixation).
func (h *Handler) finishLogin(ex *exchange, r *http.Request, code string, ls *session.LoginState) {
	if code == "" {
		h.fail(ex, r, h.loginFailure(http.StatusBadRequest, "bad_request", "The sign-in response carries no code.", nil))
		return
	}
	tokens, id, err := h.login.Exchange(r.Context(), code, ls.Verifier, ls.Nonce, ls.IssuedAt)
	if err != nil || tokens == nil || id == nil {
		e := h.exchangeFailure(err)
		e.link = h.retryLink(ls.ReturnURL)
		h.fail(ex, r, e)
		return
	}
	if err := h.claimState(r, ls); err != nil {
		h.fail(ex, r, err)
		return
	}
	s := h.newSession(tokens, id, ls)
	// The session the browser had before (a step-up, or a login over an
	// old one) ends here, server-side too: a copy of its cookie must not
	// outlive the new login. It is read first, for its refresh token, and
	// ended only once the new one is saved: a save that fails (Redis
	// down, a session too large) leaves it as it was, cookie and token.
	replaced := h.presentedSession(r)
	if err := h.cfg.Sessions.Save(ex, r, s); err != nil {
		h.fail(ex, r, h.saveFailure(err))
		return
	}
	h.metrics.login("succeeded", "")
	ex.id = &s.Identity
	h.logSignIn(&s.Identity, ls.StepUp)
	h.warnNoRefreshToken(s)
	dr, release := detached(r)
	defer release()
	delErr := h.endPresented(dr)
	if replaced == nil {
		h.unreadNotEnded(delErr, "proxy: ending the previous session at login failed")
	}
	h.endReplaced(dr, replaced, &s.Identity, s.RefreshToken, delErr)
	http.Redirect(ex, r, h.redirects.validate(ls.ReturnURL), http.StatusFound)
}

// newSession is the fresh session of a sign-in that redeemed its code for
// tokens and id, begun with the login state ls.
func (h *Handler) newSession(tokens *idp.Tokens, id *portcullis.Identity, ls *session.LoginState) *session.Session {
	now := h.now()
	s := &session.Session{
		Identity:     *id,
		AccessToken:  tokens.AccessToken,
		RefreshToken: tokens.RefreshToken,
		IDToken:      tokens.IDToken,
		Expiry:       tokens.Expiry,
		GroupsReadAt: tokens.GroupsReadAt,
		CreatedAt:    now,
		ExpiresAt:    now.Add(h.cfg.SessionLifetime),
		// A logout of the user received since the sign-in began (the
		// Redis store) refuses the session: it found none to end.
		SignInStarted: ls.IssuedAt,
	}
	// What the provider granted, never what the login asked for: the
	// browser carried that request and could drop a scope from it.
	s.Identity.Scopes = tokens.Scopes
	if ls.StepUp != "" {
		s.StepUps = map[string]time.Time{ls.StepUp: now}
	}
	return s
}

// saveFailure is the sign-in failure of a session that could not be saved:
// one too large for cookies is not worth a retry, and one that a logout
// during the sign-in ended needs a new sign-in.
func (h *Handler) saveFailure(err error) *httpError {
	if errors.Is(err, session.ErrLoggedOut) {
		return h.loginFailure(http.StatusForbidden, "logged_out",
			"You were signed out at the identity provider while this sign-in was under way. Please sign in again.", err)
	}
	if errors.Is(err, session.ErrTooLarge) {
		return h.loginFailure(http.StatusInternalServerError, "session_too_large",
			"Your sign-in carries more than browser cookies can hold (for example, very many groups). "+
				"The gateway's operator can switch to the Redis session store.", err)
	}
	return h.loginFailure(http.StatusServiceUnavailable, "session_store",
		"The session could not be stored; please retry shortly.", err)
}

// logSignIn is the line of a completed sign-in: who, at which issuer, and
// the route whose step-up it was, if one.
func (h *Handler) logSignIn(id *portcullis.Identity, stepUp string) {
	if stepUp == "" {
		h.log.Info("proxy: signed in", subAttr(id.Subject), slog.String("issuer", logattr.Value(id.Issuer, maxLoggedHost)))
		return
	}
	h.log.Info("proxy: signed in", subAttr(id.Subject), slog.String("issuer", logattr.Value(id.Issuer, maxLoggedHost)),
		slog.String("step_up", logattr.Value(stepUp, maxLoggedHost)))
}
