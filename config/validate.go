package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/portcullis/portcullis/internal/ascii"
	"github.com/portcullis/portcullis/policy"
	"github.com/portcullis/portcullis/proxy"
)

// checkURL parses the absolute http(s) URL at key. With bare set, the URL may
// not carry a query or fragment (public_url, issuers).
func (d *decoder) checkURL(key, raw string, bare bool) *url.URL {
	return d.checkURLOf(key, raw, bare, false)
}

// checkURLOf is checkURL, also accepting h2c:// (an upstream's URL) when
// h2c is set.
func (d *decoder) checkURLOf(key, raw string, bare, h2c bool) *url.URL {
	u, err := url.Parse(raw)
	shown := withoutUserinfo(raw)
	switch {
	case err != nil:
		d.problem(key, "invalid URL %q", shown)
	case h2c && u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "h2c":
		d.problem(key, "must be an absolute http://, https:// or h2c:// URL, got %q", shown)
	case !h2c && u.Scheme != "http" && u.Scheme != "https":
		d.problem(key, "must be an absolute http:// or https:// URL, got %q", shown)
	case u.Host == "" || u.Hostname() == "":
		d.problem(key, "URL %q has no host", shown)
	case u.Port() != "" && !validPort(u.Port()):
		d.problem(key, "invalid port in URL %q", shown)
	case u.User != nil:
		d.problem(key, "URL %q must not contain user information (a user name or password before @)", shown)
	case bare && (u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#")):
		d.problem(key, "URL %q must not have a query or fragment", shown)
	default:
		return u
	}
	return nil
}

// withoutUserinfo is raw as a problem may show it: without its user
// information (a password or a token), so that check's output and the
// reload log never hold it. A URL that does not parse, or parses with an
// opaque part ("admin:PASSWORD@h:3000", "https:admin:PASSWORD@h": no "//",
// so no user information to url.Parse), loses everything before its last
// "@" (after "://" when it has one): a password may hold "/", "?" or "#".
func withoutUserinfo(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Opaque == "" {
		if u.User == nil {
			return raw
		}
		u.User = nil
		return u.String()
	}
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + 3
	}
	if at := strings.LastIndexByte(raw[start:], '@'); at >= 0 {
		return raw[:start] + raw[start+at+1:]
	}
	return raw
}

// validPort reports whether p is a port number from 1 to 65535.
func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// checkHostPort checks a listen address such as ":4180" or "127.0.0.1:9180".
// An address with user information is refused naming only what follows
// its last "@": go-redis would dial "PASSWORD@host" and log the password
// with every failed dial.
func (d *decoder) checkHostPort(key, addr string) {
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		d.problem(key, "must be host:port without user information (a user name or password before @; give them as session.redis_username and redis_password), got %q", addr[at+1:])
		return
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		// withoutUserinfo: a Redis URL pasted here may carry a password.
		d.problem(key, "must be host:port, got %q", withoutUserinfo(addr))
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		d.problem(key, "invalid port in %q", addr)
	}
}

// sameListener reports whether two valid listen addresses would bind the
// same port: the same host, or a wildcard host on either side. Ports and
// hosts are read as net.Listen reads them (04180 is 4180, ::ffff:127.0.0.1
// is 127.0.0.1, localhost its IPv4 address): check passed such a pair, and
// serve then failed to bind the second.
func sameListener(a, b string) bool {
	ha, pa, errA := net.SplitHostPort(a)
	hb, pb, errB := net.SplitHostPort(b)
	if errA != nil || errB != nil || !samePort(pa, pb) {
		return false
	}
	wild := func(h string) bool { ip := listenAddr(h); return h == "" || ip.IsValid() && ip.IsUnspecified() }
	return ascii.EqualFold(ha, hb) || wild(ha) || wild(hb) || listenAddr(ha).IsValid() && listenAddr(ha) == listenAddr(hb)
}

// listenAddr is the address net.Listen binds for a listen host: an IP
// literal, unmapped, or localhost's IPv4 address (Go prefers it); the zero
// Addr for other names.
func listenAddr(h string) netip.Addr {
	if ascii.EqualFold(h, "localhost") {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1})
	}
	ip, err := netip.ParseAddr(h)
	if err != nil {
		return netip.Addr{}
	}
	return ip.Unmap()
}

// isLoopbackHost reports whether host names the local machine for the
// gateway's own connections and listeners: "localhost" (the hosts file's)
// or a loopback address. A name under ".localhost" is not: browsers keep
// it on loopback themselves (RFC 6761 §6.3), but the gateway's resolver
// asks DNS for it, which may answer with any address, so an http:// issuer
// or profiler there is warned about. ASCII case only: strings.EqualFold
// also took "localhoſt", with a long s.
func isLoopbackHost(host string) bool {
	if ascii.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// validHostname reports whether h is a DNS name or an IP literal.
func validHostname(h string) bool {
	if _, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return true
	}
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// checkHostPattern checks "host", "host:port" or "*.domain" (optionally with
// a port) with the gateway's own redirect-host parser, so that check and
// serve cannot disagree (no IPv6 literal, a port in plain decimal), and the
// host's labels as every host name in the file.
func (d *decoder) checkHostPattern(key, pat string) {
	host := pat
	if h, _, err := net.SplitHostPort(pat); err == nil {
		host = h
	}
	if proxy.CheckRedirectHost(pat) != nil || !validHostname(strings.TrimPrefix(host, "*.")) {
		d.problem(key, `must be "host", "host:port" or "*.domain", got %q%s`, pat, hostPatternHint(pat))
	} else if ps := publicSuffixOf(host); ps != "" {
		d.problem(key, "%q covers every site registered under the public suffix %q: anyone can own a host there and receive your users after a sign-in or sign-out (an open redirect); list your own hosts", pat, ps)
	}
}

// hostPatternHint answers the two forms oauth2-proxy's whitelist_domains
// accepts and this file does not: ".domain" (the domain and its
// subdomains) and "host:*" (any port).
func hostPatternHint(pat string) string {
	switch {
	case strings.HasPrefix(pat, ".") && len(pat) > 1:
		return fmt.Sprintf(`: for oauth2-proxy's %q write "*%s" and "%s"`, pat, pat, pat[1:])
	case strings.HasSuffix(pat, ":*"):
		return `: a port is exact; list each "host:port"`
	}
	return ""
}

// checkPrefix checks the gateway's endpoint prefix.
func (d *decoder) checkPrefix(key, p string) {
	switch {
	case !strings.HasPrefix(p, "/"):
		d.problem(key, "must start with \"/\", got %q", p)
	case p == "/":
		d.problem(key, `must not be "/" alone (the gateway's endpoints need their own path)`)
	case strings.HasSuffix(p, "/"):
		d.problem(key, "must not end with \"/\", got %q", p)
	case path.Clean(p) != p || strings.ContainsAny(p, "?#%;\\ \t") || strings.IndexFunc(p, isControl) >= 0:
		d.problem(key, "must be a clean path without . or .. segments, //, ?, #, %%, ; or \\, got %q", p)
	case !proxy.NormalPrefix(p):
		// Requests are matched against it in their normalised form, where
		// these characters are percent-encoded: no request would ever
		// reach an endpoint under it.
		d.problem(key, "must be spelled as requests name it: ASCII letters, digits, /, -, ., _, ~ and !$&'()*+,=:@, got %q", p)
	}
}

// checkPublicHost refuses a public_url whose host the gateway's Host rule
// refuses (a port written "0443", a name that is not ASCII): no request
// names it, so the gateway could never tell a request for public_url's
// host (proxy.New refuses it too).
func (d *decoder) checkPublicHost(pub *url.URL) {
	if pub == nil {
		return
	}
	if _, err := policy.ParseHost(pub.Host); err != nil {
		d.problem("server.public_url", "host %q is not one a request can name (a DNS name in ASCII, an IPv4 address or a bracketed IPv6 address, and a port in plain decimal such as 8443): %s", pub.Host, strings.TrimPrefix(err.Error(), "policy: "))
	}
}

// checkPublicPath refuses a public_url with a path. The gateway answers
// its endpoints at prefix and decides routes by the request's own path,
// both from the host's root, and sends return URLs and cookies (Path=/)
// from there; only the redirect URI and the endpoint links would carry
// public_url's path ("/auth/oauth2/callback"), where the gateway never
// answers (or, behind a proxy that strips it, every other path is off by
// it).
func (d *decoder) checkPublicPath(pub *url.URL, prefix string) {
	if pub == nil || pub.Path == "" || pub.Path == "/" {
		return
	}
	d.problem("server.public_url", "%q has a path: the gateway serves its endpoints (%s/callback) and the routes from the host's root, so the redirect URI %s%s/callback would never reach it; give public_url without a path (an origin) and set server.prefix to move the endpoints",
		withoutUserinfo(pub.String()), prefix, strings.TrimSuffix(withoutUserinfo(pub.String()), "/"), prefix)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// isToken reports whether s is an RFC 9110 §5.6.2 token (header names,
// methods, cookie names).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validateServer checks [server] and returns the parsed public URL and
// trusted proxies.
func (d *decoder) validateServer(s *serverSection) (*url.URL, []netip.Prefix) {
	pub := d.checkPublicURL(s)
	d.checkPrefix("server.prefix", s.Prefix)
	d.checkListeners(s)
	proxies := d.trustedProxies(s.TrustedProxies)
	for i, h := range s.AllowedRedirectHosts {
		d.checkHostPattern(fmt.Sprintf("server.allowed_redirect_hosts[%d]", i), h)
	}
	d.checkTLSFiles(s)
	return pub, proxies
}

// checkPublicURL checks the required public_url and returns it parsed
// (nil when it is missing or refused by checkURL).
func (d *decoder) checkPublicURL(s *serverSection) *url.URL {
	if s.PublicURL == "" {
		d.problem("server.public_url", "required")
		return nil
	}
	pub := d.checkURL("server.public_url", s.PublicURL, true)
	d.checkPublicHost(pub)
	d.checkPublicPath(pub, s.Prefix)
	d.warnCleartextPublicURL(pub)
	return pub
}

// checkListeners checks listen and ops_listen, the profiler that needs the
// ops listener, and that the two listeners do not share a port.
func (d *decoder) checkListeners(s *serverSection) {
	d.checkHostPort("server.listen", s.Listen)
	d.warnExtendedConnect()
	if s.OpsListen != "" {
		d.checkHostPort("server.ops_listen", s.OpsListen)
		if host, _, err := net.SplitHostPort(s.OpsListen); err == nil && s.Pprof && !isLoopbackHost(host) {
			d.warn("server.pprof", "the profiler answers anyone who reaches ops_listen %q without authentication: bind it to 127.0.0.1 or keep the port off every network clients reach", s.OpsListen)
		}
	} else if s.Pprof {
		d.problem("server.pprof", "needs the ops listener (ops_listen is empty); the profiler is never served on the gateway listener")
	}
	if s.OpsListen != "" && sameListener(s.Listen, s.OpsListen) {
		d.problem("server.ops_listen", "%q takes the port of listen %q: give the ops listener its own port (or \"\" to turn it off)", s.OpsListen, s.Listen)
	}
}

// trustedProxies checks trusted_proxies and returns the entries that
// parse, as prefixes.
func (d *decoder) trustedProxies(list []string) []netip.Prefix {
	var proxies []netip.Prefix
	for i, p := range list {
		if pfx, ok := d.trustedProxy(fmt.Sprintf("server.trusted_proxies[%d]", i), p); ok {
			proxies = append(proxies, pfx)
		}
	}
	return proxies
}

// trustedProxy parses one trusted_proxies entry, a CIDR or an address, as
// the prefix peers are matched against (unmapped, without a zone), and
// warns about an entry that trusts more than it seems to.
func (d *decoder) trustedProxy(key, p string) (netip.Prefix, bool) {
	var pfx netip.Prefix
	if pp, err := netip.ParsePrefix(p); err == nil {
		pfx = pp.Masked()
		if pfx.Addr() != pp.Addr().WithZone("") {
			// 10.0.0.1/8 is 10.0.0.0/8: often a typo for one address
			// (10.0.0.1/32), and then far more peers are trusted.
			d.warn(key, "%q has bits set past its /%d: it trusts all of %s; write that, or %s/%d for the one address", p, pp.Bits(), pfx, pp.Addr(), pp.Addr().BitLen())
		}
	} else if ip, err := netip.ParseAddr(p); err == nil {
		pfx = netip.PrefixFrom(ip.WithZone(""), ip.BitLen())
	} else {
		d.problem(key, "must be a CIDR (10.0.0.0/8) or an IP address, got %q", p)
		return netip.Prefix{}, false
	}
	// Peers are matched unmapped (proxy.peerAddr): so are the entries.
	if pfx.Addr().Is4In6() && pfx.Bits() >= 96 {
		pfx = netip.PrefixFrom(pfx.Addr().Unmap(), pfx.Bits()-96)
	}
	if pfx.Bits() == 0 {
		d.warn(key, "%q trusts every peer: any client can forge X-Forwarded-* headers and call the forward-auth endpoint; list only the proxies in front of the gateway", p)
	}
	return pfx, true
}

// checkTLSFiles checks that tls_cert_file and tls_key_file are set
// together, and when they are, that they hold a key pair.
func (d *decoder) checkTLSFiles(s *serverSection) {
	if (s.TLSCertFile == "") != (s.TLSKeyFile == "") {
		key := "server.tls_cert_file" // the one that is set
		if s.TLSCertFile == "" {
			key = "server.tls_key_file"
		}
		d.problem(key, "tls_cert_file and tls_key_file go together: set both or neither")
	} else if s.TLSCertFile != "" {
		d.checkKeyPair(s)
	}
}

// validateProvider checks [provider] and returns the effective kind.
func (d *decoder) validateProvider(p *providerSection) string {
	kind := d.providerKind(p)
	if kind == "" {
		return ""
	}
	if p.ClientID == "" {
		d.problem("provider.client_id", "required")
	}
	d.checkProviderURLs(p, kind)
	d.checkClaimNames(p)
	d.checkScopes(p, kind)
	d.nonEmpty("provider.audiences", p.Audiences)
	d.nonEmpty("provider.id_token_audiences", p.IDTokenAudiences)
	d.checkAuthParams(p.AuthParams)
	for _, x := range p.ExtraIssuers {
		d.checkExtraIssuer(x)
	}
	d.checkRepeatedIssuers(p, kind)
	d.validateDirectory(p, kind)
	return kind
}

// providerKind is the effective kind: kind, else "oidc" with an issuer and
// "oauth2" without; "" (a problem recorded) for a kind the gateway does
// not know.
func (d *decoder) providerKind(p *providerSection) string {
	switch p.Kind {
	case "":
		if p.Issuer != "" {
			return "oidc"
		}
		return "oauth2"
	case "oidc", "oauth2", "github", "google", "entra":
		return p.Kind
	}
	d.problem("provider.kind", `must be "oidc", "oauth2", "github", "google" or "entra", got %q`, p.Kind)
	return ""
}

// checkProviderURLs checks the issuer or the plain OAuth 2.0 endpoints,
// one of which is required, and the introspection URL.
func (d *decoder) checkProviderURLs(p *providerSection, kind string) {
	if p.Kind == "" && p.Issuer == "" && p.AuthorizationURL == "" && p.TokenURL == "" && p.UserinfoURL == "" {
		d.problem("provider.issuer", "required (or authorization_url, token_url and userinfo_url for plain OAuth 2.0)")
	} else {
		d.checkEndpoints(p, kind)
	}
	if p.IntrospectionURL != "" {
		d.checkCleartextURL("provider.introspection_url", p.IntrospectionURL, false, "the client secret and access tokens")
	}
}

// checkClaimNames refuses an empty user_claim, email_claim or groups_claim.
func (d *decoder) checkClaimNames(p *providerSection) {
	for _, c := range []struct{ key, val string }{
		{"user_claim", p.UserClaim}, {"email_claim", p.EmailClaim}, {"groups_claim", p.GroupsClaim},
	} {
		if strings.TrimSpace(c.val) == "" {
			d.problem("provider."+c.key, "must not be empty")
		}
	}
}

// checkScopes refuses an empty scope, and scopes without "openid" for an
// OpenID Connect kind.
func (d *decoder) checkScopes(p *providerSection, kind string) {
	d.nonEmpty("provider.scopes", p.Scopes)
	if p.ScopesSet && isOIDC(kind) && !slices.Contains(p.Scopes, "openid") && !d.hasProblemAt("provider.scopes") {
		// Without it the request is plain OAuth 2.0: the provider sends
		// no ID token, and every sign-in failed at the callback.
		d.problem("provider.scopes", `must include "openid" with an OpenID Connect provider (kind %q): without it no ID token is issued and every sign-in fails`, kind)
	}
}

// checkAuthParams refuses an authorization parameter that is malformed,
// that the gateway sets itself, or (max_age) that is not a number of
// seconds. Names are checked in order (sortedKeys): the map's own order
// is random, and so was the order of two problems on one line.
func (d *decoder) checkAuthParams(params map[string]string) {
	for _, name := range sortedKeys(params) {
		v := params[name]
		switch {
		case name == "" || strings.IndexFunc(v, isControl) >= 0:
			d.problem(joinKey("provider.auth_params", name), "invalid authorization parameter")
		case reservedAuthParams[strings.ToLower(name)]:
			d.problem(joinKey("provider.auth_params", name),
				"is set by the gateway itself and cannot be overridden (state, nonce, PKCE, redirect_uri, client_id, response_type and mode, scope, request objects)")
		case name == "max_age" && !isSeconds(v):
			// The ID token's auth_time is checked against it at the callback.
			d.problem(joinKey("provider.auth_params", name), "must be a number of seconds, got %q", v)
		}
	}
}

// nonEmpty reports empty strings in a list.
func (d *decoder) nonEmpty(key string, vals []string) {
	for i, v := range vals {
		if strings.TrimSpace(v) == "" {
			d.problem(fmt.Sprintf("%s[%d]", key, i), "must not be empty")
		}
	}
}

// isOIDC reports whether kind signs users in with OpenID Connect.
func isOIDC(kind string) bool { return kind == "oidc" || kind == "google" || kind == "entra" }

// checkEndpoints checks the issuer or the plain OAuth 2.0 endpoints for kind.
func (d *decoder) checkEndpoints(p *providerSection, kind string) {
	trio := []struct{ key, val, sent string }{
		{"authorization_url", p.AuthorizationURL, "the user's sign-in at the provider and its code"},
		{"token_url", p.TokenURL, "the client secret, codes and tokens"},
		{"userinfo_url", p.UserinfoURL, "access tokens"},
	}
	if isOIDC(kind) {
		if p.Issuer == "" && kind != "google" {
			d.problem("provider.issuer", `required with kind = %q`, kind)
		} else if p.Issuer != "" {
			d.checkIssuer("provider.issuer", p.Issuer)
		}
		for _, e := range trio {
			if e.val != "" {
				d.problem("provider."+e.key, "not used with an OIDC issuer (discovery provides it); remove it or set kind = \"oauth2\"")
			}
		}
		return
	}
	if p.Issuer != "" {
		d.problem("provider.issuer", "not used with kind = %q", kind)
	}
	for _, e := range trio {
		switch {
		case e.val != "":
			d.checkCleartextURL("provider."+e.key, e.val, false, e.sent)
		case kind == "oauth2":
			d.problem("provider."+e.key, "required without an issuer (plain OAuth 2.0)")
		}
	}
}

// validateLog checks [log].
func (d *decoder) validateLog(l *logSection) {
	if l.Format != "text" && l.Format != "json" {
		d.problem("log.format", `must be "text" or "json", got %q`, l.Format)
	}
	switch l.Level {
	case "debug", "info", "warn", "error":
	default:
		d.problem("log.level", `must be "debug", "info", "warn" or "error", got %q`, l.Level)
	}
}

// validateBranding checks [branding]: a short printable name and absolute
// http(s) URLs (the pages escape all three).
func (d *decoder) validateBranding(b *brandingSection) proxy.Branding {
	out := proxy.Branding{Name: b.Name}
	if len(b.Name) > 100 || strings.IndexFunc(b.Name, unicode.IsControl) >= 0 {
		d.problem("branding.name", "must be at most 100 characters without control characters")
	}
	out.LogoURL = d.checkBrandingURL("branding.logo_url", b.LogoURL)
	out.SupportURL = d.checkBrandingURL("branding.support_url", b.SupportURL)
	return out
}

// checkBrandingURL checks a branding URL ("": none) as checkURL does, and
// its host as the pages use it (proxy.CheckPlainHost): the logo's is their
// img-src, where "*.example.com" would let every subdomain's images in.
func (d *decoder) checkBrandingURL(key, raw string) *url.URL {
	if raw == "" {
		return nil
	}
	u := d.checkURL(key, raw, false)
	if u != nil && proxy.CheckPlainHost(u) != nil {
		d.problem(key, "host %q is not a plain host (a DNS name in ASCII, an IPv4 address or a bracketed IPv6 address, and a port in plain decimal)", u.Host)
		return nil
	}
	return u
}

// isSeconds reports whether v is what the max_age authorization parameter
// takes and the gateway checks: a non-negative number of seconds.
func isSeconds(v string) bool {
	_, err := strconv.ParseUint(v, 10, 32)
	return err == nil
}

// reservedAuthParams are the authorization-request parameters the gateway
// sets itself: overriding one would defeat the state, nonce or PKCE check,
// send the code elsewhere, or (request, request_uri) replace the whole
// request.
var reservedAuthParams = map[string]bool{
	"state": true, "nonce": true, "code_challenge": true, "code_challenge_method": true,
	"code_verifier": true, "redirect_uri": true, "client_id": true, "response_type": true,
	"response_mode": true, "scope": true, "request": true, "request_uri": true,
}
