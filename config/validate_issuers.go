package config

import (
	"net/url"
	"strings"
)

// checkOwnIssuer refuses a trusted issuer that is the gateway itself. The
// gateway signs the assertion it sends every upstream with iss = public_url
// and publishes the keys at {prefix}/jwks.json, so trusting that issuer for
// bearer tokens would let any upstream (or anyone who reads an assertion in
// an upstream's logs) replay it to the gateway as a credential. The
// comparison folds what names the same origin (scheme and host case, the
// default port, a final dot, a trailing slash): a token's iss must match
// exactly, but a spelling that misses today is one edit from matching.
func (d *decoder) checkOwnIssuer(pub *url.URL, p *providerSection) {
	if pub == nil {
		return
	}
	own := canonicalIssuer(pub)
	const why = "is the gateway's own issuer (server.public_url, line %d): it signs the assertion every upstream receives with it, so any upstream could replay that assertion to the gateway as a bearer token; %s"
	if isOwn(p.Issuer, own) {
		d.problem("provider.issuer", "%q "+why, p.Issuer, d.lineOf("server.public_url"), "set the identity provider's issuer")
	}
	for _, x := range p.ExtraIssuers {
		if isOwn(x.Issuer, own) {
			d.problem(x.path+".issuer", "%q "+why, x.Issuer, d.lineOf("server.public_url"), "remove this entry")
		}
	}
}

// isOwn reports whether the issuer raw names the gateway's canonical
// issuer own.
func isOwn(raw, own string) bool {
	if raw == "" {
		return false
	}
	u, err := url.Parse(raw)
	return err == nil && canonicalIssuer(u) == own
}

// canonicalIssuer is u as scheme://host[:port]/path with the scheme and
// host in lower case, the scheme's default port and a final dot of the
// host dropped, and no trailing slash.
func canonicalIssuer(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port := u.Port(); port != "" && !(scheme == "https" && port == "443" || scheme == "http" && port == "80") {
		host += ":" + port
	}
	return scheme + "://" + host + strings.TrimRight(u.EscapedPath(), "/")
}
