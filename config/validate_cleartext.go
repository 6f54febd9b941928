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
