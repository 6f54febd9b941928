package config

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"golang.org/x/net/publicsuffix"

	"github.com/portcullis/portcullis/session"
)

// validateSession checks [session] and returns the decoded secrets and the
// resolved cookie name.
func (d *decoder) validateSession(s *sessionSection, pub *url.URL) ([][]byte, string) {
	switch s.Store {
	case "cookie":
		d.warnUnusedRedis(s)
	case "redis":
		d.checkRedis(s)
	default:
		d.problem("session.store", `must be "cookie" or "redis", got %q`, s.Store)
	}
	d.checkSessionDurations(s)
	secrets := d.decodeSecrets(s)
	return secrets, d.cookieName(s, pub)
}

// maxCookieLifetime is the longest a browser keeps a cookie: user agents
// cap Max-Age and Expires at 400 days (RFC 6265bis §5.6.1, §5.6.2).
const maxCookieLifetime = 400 * 24 * time.Hour

// shortTokenLife is the shortest access-token life providers commonly
// issue (Keycloak's default): a refresh_margin at or above it refreshes
// such tokens on every request.
const shortTokenLife = 5 * time.Minute

// checkSessionDurations refuses a lifetime whose effect is not what it
// says: past the browser's cookie cap sessions end silently at 400 days
// instead (and a lifetime near Duration's limit overflowed the cookie's
// Max-Age into "delete it"). A refresh_margin is counted back from the
// access token's expiry, not the session's: one that common token lives
// are not longer than refreshes those tokens on every request, a warning.
// A margin longer than a short lifetime is fine (the token then outlives
// the session, and nothing is refreshed).
func (d *decoder) checkSessionDurations(s *sessionSection) {
	if s.Lifetime > maxCookieLifetime {
		d.problem("session.lifetime", "%v is longer than browsers keep a cookie (400 days, 9600h): sessions would end then, silently; at most \"9600h\"", s.Lifetime)
	}
	if s.Refresh && s.RefreshMargin >= shortTokenLife {
		d.warn("session.refresh_margin", "%v: an access token that lives no longer (Keycloak's default is 5m) is refreshed on every request; the margin is counted back from the token's expiry, keep it under its life", s.RefreshMargin)
	}
}

// decodeSecrets decodes and checks every session secret. Problems never
// echo a secret.
func (d *decoder) decodeSecrets(s *sessionSection) [][]byte {
	if !s.SecretsGiven {
		d.problem("session.secrets", "required (or secrets_file): generate one with `openssl rand -base64 32`")
		return nil
	}
	var out [][]byte
	for _, e := range s.Secrets {
		b, err := session.DecodeSecret(e.val)
		if err != nil {
			msg := strings.TrimPrefix(err.Error(), "session: ")
			if strings.HasPrefix(strings.TrimSpace(e.val), "$") {
				// "$OAUTH2_PROXY_COOKIE_SECRET": only ${NAME} is expanded.
				msg += "; write ${NAME} to read an environment variable"
			}
			if e.fileLine > 0 {
				// Every line of the file is one key: each bad line is its own
				// problem, where d.problem keeps one per key.
				d.problems = append(d.problems, d.at(e.path, fmt.Sprintf("line %d of the file: %s", e.fileLine, msg)))
				continue
			}
			d.problem(e.path, "%s", msg)
			continue
		}
		d.warnTypedSecret(e, b)
		out = append(out, b)
	}
	if len(s.Secrets) == 0 && !d.hasProblemAt("session.secrets") {
		d.problem("session.secrets", "at least one secret is required")
	}
	return out
}

// warnTypedSecret warns, naming the key and the file's line, about a secret
// that passes the entropy check but looks typed (session.SecretLooksTyped):
// whoever guesses it seals a session for any user, offline, from his own
// cookie. A warning, so that an upgrade never stops a running gateway;
// `check --strict` refuses it.
func (d *decoder) warnTypedSecret(e listEntry, b []byte) {
	why := session.SecretLooksTyped(e.val, b)
	if why == "" {
		return
	}
	why += ": replace it with one from `openssl rand -base64 32`"
	if e.fileLine > 0 {
		d.warnings = append(d.warnings, d.at(e.path, fmt.Sprintf("line %d of the file: %s", e.fileLine, why)))
		return
	}
	d.warn(e.path, "%s", why)
}

// hasProblemAt reports whether a problem about a key under prefix was recorded.
func (d *decoder) hasProblemAt(prefix string) bool {
	for _, p := range d.problems {
		if strings.HasPrefix(p.Key, prefix) {
			return true
		}
	}
	return false
}

// cookieName resolves cookie_name (defaultCookieName when it is empty). A
// "__Host-" name requires https and no cookie_domain, and a "__Secure-" name
// requires https (RFC 6265bis §4.1.3), in any case. On https, a name in
// force without either prefix is warned about (warnUnprefixed).
func (d *decoder) cookieName(s *sessionSection, pub *url.URL) string {
	secure := pub != nil && pub.Scheme == "https"
	if s.CookieDomain != "" {
		dom := strings.TrimPrefix(strings.ToLower(s.CookieDomain), ".")
		if !validHostname(dom) {
			d.problem("session.cookie_domain", "invalid domain %q", s.CookieDomain)
		} else if ps, _ := publicsuffix.PublicSuffix(dom); ps == dom {
			d.problem("session.cookie_domain", "%q is a public suffix: browsers refuse cookies for it; name your own domain", s.CookieDomain)
		} else if pub != nil {
			host := publicName(pub)
			if host != dom && !strings.HasSuffix(host, "."+dom) {
				d.problem("session.cookie_domain", "%q does not cover public_url's host %q", s.CookieDomain, host)
			}
		}
	}
	name := s.CookieName
	if name == "" {
		name = defaultCookieName(secure, s.CookieDomain != "")
		if secure {
			d.warnUnprefixed("session.cookie_domain", name, s.CookieDomain != "")
		}
		return name
	}
	switch {
	case !isToken(name):
		d.problem("session.cookie_name", "invalid cookie name %q", name)
	case session.HasCookiePrefix(name, hostCookiePrefix) && s.CookieDomain != "":
		d.problem("session.cookie_name", "a %q cookie cannot have a cookie_domain", hostCookiePrefix)
	case (session.HasCookiePrefix(name, hostCookiePrefix) || session.HasCookiePrefix(name, secureCookiePrefix)) && !secure:
		d.problem("session.cookie_name", "a %q cookie needs an https public_url", name)
	case secure:
		d.warnUnprefixed("session.cookie_name", name, s.CookieDomain != "")
	}
	return name
}

// warnUnprefixed warns, on the line of key, about an https session cookie
// name in force (the operator's own, or the default "portcullis" with a
// cookie_domain) without the __Host- or __Secure- prefix: any plain-http
// answer for a host of the site, which a network attacker can forge for
// any name of it that HSTS does not cover, may set such a cookie, plant
// the attacker's own session and sign the browser in as him (login CSRF).
// The fix names "__Secure-portcullis", or "__Host-portcullis" without a
// cookie_domain.
func (d *decoder) warnUnprefixed(key, name string, domain bool) {
	if session.HasCookiePrefix(name, hostCookiePrefix) || session.HasCookiePrefix(name, secureCookiePrefix) {
		return
	}
	fix := secureCookiePrefix + plainCookieName
	if !domain {
		fix = hostCookiePrefix + plainCookieName
	}
	d.warn(key, "the session cookie %q has no %q or %q prefix on an https public_url: any plain-http answer "+
		"for a host of the site (which a network attacker can forge) may set it and sign browsers in as the attacker; "+
		"set session.cookie_name = %q", name, hostCookiePrefix, secureCookiePrefix, fix)
}

// checkRedis checks the redis_* keys for store = "redis".
func (d *decoder) checkRedis(s *sessionSection) {
	n := 0
	for _, set := range []bool{s.RedisURL != "", len(s.RedisClusterAddrs) > 0, len(s.RedisSentinelAddrs) > 0} {
		if set {
			n++
		}
	}
	if n != 1 {
		d.problem("session.store", `store = "redis" needs exactly one of redis_url, redis_cluster_addrs and redis_sentinel_addrs (found %d)`, n)
	}
	if s.RedisURL != "" {
		u, err := url.Parse(s.RedisURL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Hostname() == "" {
			d.problem("session.redis_url", "must be a redis:// or rediss:// URL")
		} else if opt, err := redis.ParseURL(s.RedisURL); err != nil {
			// go-redis's messages name the part (database, option), never the password.
			d.problem("session.redis_url", "%s", strings.TrimPrefix(err.Error(), "redis: "))
		} else if opt.TLSConfig != nil && opt.TLSConfig.InsecureSkipVerify {
			d.problem("session.redis_url", "skip_verify would turn off the verification of Redis's TLS certificate; add its CA with redis_tls_ca_file instead")
		}
	}
	for i, a := range s.RedisClusterAddrs {
		d.checkHostPort(fmt.Sprintf("session.redis_cluster_addrs[%d]", i), a)
	}
	for i, a := range s.RedisSentinelAddrs {
		d.checkHostPort(fmt.Sprintf("session.redis_sentinel_addrs[%d]", i), a)
	}
	if len(s.RedisSentinelAddrs) > 0 && s.RedisSentinelMaster == "" {
		d.problem("session.redis_sentinel_master", "required with redis_sentinel_addrs")
	}
	if s.RedisTLSCAFile != "" && strings.HasPrefix(s.RedisURL, "redis://") {
		d.problem("session.redis_tls_ca_file", "needs a rediss:// redis_url (TLS)")
	}
}

// warnUnusedRedis remarks on redis_* keys that the cookie store ignores.
func (d *decoder) warnUnusedRedis(s *sessionSection) {
	if s.RedisURL != "" || len(s.RedisClusterAddrs) > 0 || len(s.RedisSentinelAddrs) > 0 {
		d.warn("session.store", `redis_* keys are ignored with store = "cookie"`)
	}
}

// warnLocalSignOut remarks on revoke_on_sign_out = false with the cookie
// store: the revocation is all that ends a copy of a signed-out cookie
// there (its refresh is refused), so without it every copy lives to
// lifetime, as with a provider that cannot revoke. The Redis store ends
// every copy at the sign-out itself.
func (d *decoder) warnLocalSignOut(p *providerSection, s *sessionSection) {
	if !p.RevokeOnSignOut && s.Store == "cookie" {
		d.warn("provider.revoke_on_sign_out", `false with session.store = "cookie": a copy of a signed-out session's cookie stays valid until session.lifetime (nothing ends its refresh token); store = "redis" ends every copy at the sign-out`)
	}
}

// reservedHeaders are request headers an identity header must not replace.
var reservedHeaders = map[string]bool{
	"Host": true, "Cookie": true, "Connection": true, "Content-Length": true, "Content-Type": true,
	"Transfer-Encoding": true, "Upgrade": true, "Te": true, "Trailer": true, "Keep-Alive": true,
	"Proxy-Connection": true, "Proxy-Authorization": true, "X-Forwarded-For": true,
	"X-Forwarded-Proto": true, "X-Forwarded-Host": true, "Forwarded": true,
}

// validateHeaders checks [headers]: valid, distinct names ("" disables one).
func (d *decoder) validateHeaders(h *headersSection) {
	seen := map[string]string{}
	check := func(key, name string) {
		if name == "" {
			return
		}
		// As the proxy matches names when it removes inbound copies: '_'
		// and '.' read as '-' (CGI and PHP turn both into '_').
		canon := http.CanonicalHeaderKey(strings.NewReplacer("_", "-", ".", "-").Replace(name))
		switch {
		case !isToken(name):
			d.problem(key, "invalid HTTP header name %q", name)
		case reservedHeaders[canon] || canon == "Authorization" && key != "headers.access_token":
			d.problem(key, "header %q cannot carry identity", name)
		case seen[canon] != "":
			d.problem(key, "header %q is already used by %s", name, seen[canon])
		default:
			seen[canon] = key
		}
	}
	check("headers.user", h.User)
	check("headers.email", h.Email)
	check("headers.groups", h.Groups)
	check("headers.preferred_username", h.PreferredUsername)
	check("headers.access_token", h.AccessToken)
	check("headers.assertion", h.Assertion)
	for _, name := range sortedKeys(h.Claims) {
		key := joinKey("headers.claims", name)
		if name == "" {
			d.problem(key, "header name must not be empty")
			continue
		}
		check(key, name)
		if strings.TrimSpace(h.Claims[name]) == "" {
			d.problem(key, "claim path must not be empty")
		}
	}
}

// checkKeyPair loads the TLS certificate and key, so a bad pair fails check.
func (d *decoder) checkKeyPair(s *serverSection) {
	cert, certOK := d.readFile("server.tls_cert_file", s.TLSCertFile)
	key, keyOK := d.readSecretFile("server.tls_key_file", s.TLSKeyFile)
	if !certOK || !keyOK {
		return
	}
	if _, err := tls.X509KeyPair(cert, key); err != nil {
		d.problem("server.tls_cert_file", "cannot load the certificate and key: %v", err)
	}
}

// defaultCookieName is the session cookie's name when cookie_name is not
// set, as docs/configuration.md documents it: "__Host-portcullis" on https
// without a cookie_domain, else "portcullis" (with a cookie_domain, on http
// and on https alike; warnUnprefixed warns about the latter).
func defaultCookieName(secure, domain bool) string {
	if secure && !domain {
		return hostCookiePrefix + plainCookieName
	}
	return plainCookieName
}
