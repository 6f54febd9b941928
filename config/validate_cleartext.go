package config

import (
	"net/url"
	"strconv"
	"strings"
)

// checkCleartextURL checks the URL at key as checkURL does, and warns when
// it is http:// off loopback, as an http:// issuer is warned about: sent
// says what the gateway sends there, unencrypted to anyone on the path.
// Only the issuer and the directory URLs were warned about, while a plain
// OAuth 2.0 provider's token_url received the client secret and every
// code and refresh token over http:// without a word.
func (d *decoder) checkCleartextURL(key, raw string, bare bool, sent string) *url.URL {
	u := d.checkURL(key, raw, bare)
	if u != nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		d.warn(key, "http:// URL %s: %s travel unencrypted; use https", quotedEndpoint(u), sent)
	}
	return u
}

// warnCleartextPublicURL warns about an http:// public_url off loopback,
// the browser's side of what checkCleartextURL warns about on the
// provider's: the session cookie is then set without Secure, so a browser
// sends it over any plain-http request to the host (which a network
// attacker can provoke), and the provider's codes come back to the callback
// unencrypted. It is the likely mistake of a gateway that listens on plain
// http behind a load balancer that ends TLS: public_url is what browsers
// reach. On loopback (the demo, a laptop) no network is in between; a
// name under "localhost" is loopback to browsers too (RFC 6761 §6.3), which
// resolve it so without asking DNS.
func (d *decoder) warnCleartextPublicURL(pub *url.URL) {
	if pub == nil || pub.Scheme != "http" || isLoopbackHost(pub.Hostname()) ||
		strings.HasSuffix(strings.ToLower(pub.Hostname()), ".localhost") {
		return
	}
	d.warn("server.public_url", "http:// URL %s: the session cookie (without Secure) and the provider's codes travel unencrypted; "+
		"set public_url to the https:// origin browsers reach, also when TLS ends at a load balancer or front proxy", quotedEndpoint(pub))
}

// checkJWKSURL checks an extra issuer's jwks_url. Off loopback, an
// http:// one under an https:// issuer is refused, as discovery refuses
// such a jwks_uri (idp): anyone on the path could hand the gateway keys of
// their own and sign tokens the issuer never issued. Under an http://
// issuer, that issuer's warning says it already.
func (d *decoder) checkJWKSURL(key, raw, issuer string) {
	u := d.checkURL(key, raw, false)
	if u != nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) && strings.HasPrefix(strings.ToLower(issuer), "https:") {
		d.problem(key, "http:// URL %s under an https:// issuer: anyone on the path could replace the signing keys and sign tokens; use https",
			quotedEndpoint(u))
	}
}

// quotedEndpoint is u, an endpoint checkURL accepted (no user information),
// quoted for a warning without its query and fragment, which may hold a key
// (Azure Functions' code=, an API gateway's key=): warnings are logged at
// every start and reload.
func quotedEndpoint(u *url.URL) string {
	c := *u
	c.RawQuery, c.ForceQuery, c.Fragment, c.RawFragment = "", false, "", ""
	if c == *u {
		return strconv.Quote(c.String())
	}
	return strconv.Quote(c.String()) + " (query and fragment not shown)"
}
