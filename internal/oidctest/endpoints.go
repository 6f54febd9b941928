package oidctest

import (
	"cmp"
	"crypto/rand"
	"net/http"
	"net/url"
	"strings"
)

// userinfo answers for the user the bearer access token was issued to
// (OIDC Core 5.3); JWT access tokens are not checked beyond being issued here
// or well-formed.
func (p *Provider) userinfo(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "no token", http.StatusUnauthorized)
		return
	}
	p.mu.Lock()
	g, known := p.access[tok]
	revoked := p.revoked[tok]
	claims := p.user.claimsWith(p.user.UserinfoClaims)
	sub := p.user.Subject
	p.mu.Unlock()
	if revoked || (!known && !p.opts.JWTAccessTokens) {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		http.Error(w, "unknown token", http.StatusUnauthorized)
		return
	}
	if known {
		sub = g.sub
	}
	claims["sub"] = sub
	if p.faultsNow()&FaultUserinfoOtherSub != 0 {
		claims["sub"] = "mallory"
	}
	writeJSON(w, http.StatusOK, claims)
}

// introspect implements RFC 7662 §2 for the opaque access tokens and the
// refresh tokens this provider issued; it requires client authentication.
func (p *Provider) introspect(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !p.clientAuthenticated(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	tok := r.PostForm.Get("token")
	p.mu.Lock()
	g, ok := p.access[tok]
	if p.revoked[tok] {
		ok = false
	}
	claims, iss := p.user.claimsWith(nil), cmp.Or(p.introIss, p.Issuer)
	p.mu.Unlock()
	if !ok || !g.exp.After(p.opts.Now()) {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	claims["active"] = true
	claims["sub"], claims["iss"], claims["client_id"] = g.sub, iss, p.ClientID
	claims["exp"], claims["token_type"] = g.exp.Unix(), "Bearer"
	if iss == "-" {
		delete(claims, "iss")
	}
	if g.aud != "" {
		claims["aud"] = g.aud
	}
	if g.scope != "" {
		claims["scope"] = g.scope
	}
	writeJSON(w, http.StatusOK, claims)
}

// revoke implements RFC 7009 §2: any token this provider issued stops
// working; unknown tokens still get 200.
func (p *Provider) revoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || !p.clientAuthenticated(r) {
		oauthError(w, http.StatusUnauthorized, "invalid_client")
		return
	}
	tok := r.PostForm.Get("token")
	p.mu.Lock()
	p.revoked[tok] = true
	delete(p.refresh, tok)
	p.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// endSession records the RP-initiated logout request and redirects to
// post_logout_redirect_uri with the state, as a provider would after logout.
func (p *Provider) endSession(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.lastEnd = q
	p.mu.Unlock()
	target := q.Get("post_logout_redirect_uri")
	if target == "" {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("signed out\n"))
		return
	}
	if s := q.Get("state"); s != "" {
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		target += sep + url.Values{"state": {s}}.Encode()
	}
	http.Redirect(w, r, target, http.StatusFound)
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}
