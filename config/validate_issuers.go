package config

import (
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/idp"
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

// checkIssuer checks an issuer URL: https, or http with a warning unless it
// is on loopback (OpenID Connect Discovery 1.0 §3 requires https).
func (d *decoder) checkIssuer(key, raw string) {
	u := d.checkURL(key, raw, true)
	if u != nil && u.Scheme == "http" && !isLoopbackHost(u.Hostname()) {
		d.warn(key, "http:// issuer %q: discovery, keys and tokens travel unencrypted; use https", withoutUserinfo(raw))
	}
}

func (d *decoder) checkExtraIssuer(x extraIssuerSection) {
	if x.Issuer == "" {
		d.problem(x.path+".issuer", "required")
	} else {
		d.checkIssuer(x.path+".issuer", x.Issuer)
	}
	if len(x.Audiences) == 0 {
		d.problem(x.path+".audiences", "required: at least one accepted audience")
	}
	d.nonEmpty(x.path+".audiences", x.Audiences)
	if x.JWKSURL != "" {
		d.checkJWKSURL(x.path+".jwks_url", x.JWKSURL, x.Issuer)
	}
}

// checkRepeatedIssuers refuses an extra issuer that repeats the provider's
// issuer or an earlier extra issuer. A token is matched to the first issuer
// its exact iss names, so such an entry's audiences and keys never apply,
// except that before the provider's discovery completes a repeat of its
// issuer took the provider's own tokens with the entry's audiences. One
// that differs only by a trailing slash is another iss to the tokens, and
// most often a slip: a warning.
func (d *decoder) checkRepeatedIssuers(p *providerSection, kind string) {
	type trusted struct{ key, iss string }
	var seen []trusted
	if iss := p.Issuer; iss != "" || kind == "google" {
		seen = append(seen, trusted{"provider.issuer", orDefault(iss, idp.GoogleIssuer)})
	}
	for _, x := range p.ExtraIssuers {
		if x.Issuer == "" {
			continue
		}
		key := x.path + ".issuer"
		for _, s := range seen {
			if s.iss == x.Issuer && s.key == "provider.issuer" {
				d.problem(key, "%q is provider.issuer (line %d), whose tokens are checked with provider.audiences: list more audiences there instead", x.Issuer, d.lineOf(s.key))
				break
			}
			if s.iss == x.Issuer {
				d.problem(key, "%q is already trusted by %s (line %d), and only the first entry applies to its tokens: merge the two", x.Issuer, s.key, d.lineOf(s.key))
				break
			}
			if strings.TrimRight(s.iss, "/") == strings.TrimRight(x.Issuer, "/") {
				d.warn(key, "%q differs from %s %q (line %d) only by a trailing slash: tokens must name their iss exactly as written; keep the one the tokens carry", x.Issuer, s.key, s.iss, d.lineOf(s.key))
				break
			}
		}
		seen = append(seen, trusted{key, x.Issuer})
	}
}
