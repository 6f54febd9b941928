package config

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/net/publicsuffix"

	"github.com/portcullis/portcullis/policy"
	"github.com/portcullis/portcullis/session"
)

// warnCookieReach warns about each host the gateway serves that the
// session cookie never reaches: a route's host, or a return host in
// allowed_redirect_hosts that a route may serve. A browser signs in there,
// comes back without the cookie and is sent to sign in again (a loop;
// forward-auth answers 401 for ever). Routes that need no session (public,
// deny, bearer tokens only) are left out: a host of theirs rightly lies
// elsewhere, and so does a return host no such route serves (a page
// sign-out returns to).
func (d *decoder) warnCookieReach(fc *fileConfig, kind string, pub *url.URL) {
	if pub == nil {
		return
	}
	scope := cookieReach{
		domain: strings.TrimPrefix(strings.TrimSuffix(strings.ToLower(fc.Session.CookieDomain), "."), "."),
		public: publicName(pub),
		// An own __Host- name: the cookie_domain advised needs another name.
		hostName: session.HasCookiePrefix(fc.Session.CookieName, hostCookiePrefix),
	}
	granted := requestedScopes(&fc.Provider, kind)
	var served []string // hostKey of each route that needs a session
	for _, r := range fc.Routes {
		if r.Public || r.Deny || bearerOnly(&fc.Provider, granted, r) {
			continue
		}
		h := hostKey(r.Host)
		served = append(served, h)
		if h != "" && !scope.covers(h) {
			d.warn(r.path+".host", "%s", scope.outside(r.Host, h))
		}
	}
	for i, raw := range fc.Server.AllowedRedirectHosts {
		h := raw
		if host, _, err := net.SplitHostPort(raw); err == nil {
			h = host
		}
		if lost, ok := scope.missed(served, hostKey(h)); ok {
			msg := scope.outside(raw, lost)
			if lost != hostKey(h) { // only a narrower route's hosts: name them
				msg = scope.outside(keyHost(lost), lost) + fmt.Sprintf(" (return URLs may name it: %q)", raw)
			}
			d.warn(fmt.Sprintf("server.allowed_redirect_hosts[%d]", i), "%s", msg)
		}
	}
}

// hostKey is a route's or return host's key as routes match it
// (policy.HostKey): lower-case, without a final ".", and a wildcard
// "*.example.com" as ".example.com". A host the file check refuses keys as
// itself: its problem is reported, and it must not read as "any host".
func hostKey(h string) string {
	k, err := policy.HostKey(h)
	if err != nil {
		return h
	}
	return k
}

// publicName is public_url's host name as a request's Host is read
// (policy.ParseHost: lower-case, no final ".", IPv6 in its canonical form).
func publicName(pub *url.URL) string {
	if h, err := policy.ParseHost(pub.Host); err == nil {
		return h.Name
	}
	return strings.ToLower(pub.Hostname())
}

// keyHost writes a host key back as a host: ".example.com" as
// "*.example.com".
func keyHost(h string) string {
	if strings.HasPrefix(h, ".") {
		return "*" + h
	}
	return h
}

// missed returns the hosts that the host key h of a return host and a
// route needing a session (served: their keys, "" is any host) both match
// and the cookie does not reach, as a host key. Only these matter: a
// wildcard return host ("*.example.com") whose routes all get the cookie
// (public_url's host) loses no session, and the cookie_domain to advise is
// the one that reaches them, not all of h.
func (c cookieReach) missed(served []string, h string) (string, bool) {
	for _, r := range served {
		both := ""
		switch {
		case r == "" || r == h || under(h, r):
			both = h
		case under(r, h):
			both = r
		default:
			continue
		}
		if !c.covers(both) {
			return both, true
		}
	}
	return "", false
}

// under reports whether the host key h lies under the wildcard key w.
func under(h, w string) bool {
	return strings.HasPrefix(w, ".") && len(h) > len(w) && strings.HasSuffix(h, w)
}

// bearerOnly reports whether route r is meant for bearer tokens: it
// requires an iss other than the provider's (an extra issuer's tokens), an
// aud other than client_id (a session's ID token names client_id), or a
// scope the gateway does not ask for at sign-in (a session holds one only
// after a step-up, which happens on public_url's host alone: an API's
// scope).
func bearerOnly(p *providerSection, granted []string, r routeSection) bool {
	iss, hasIss := r.RequireClaims["iss"]
	aud, hasAud := r.RequireClaims["aud"]
	return hasIss && strings.TrimSuffix(iss, "/") != strings.TrimSuffix(p.Issuer, "/") ||
		hasAud && aud != p.ClientID ||
		slices.ContainsFunc(r.RequireScopes, func(s string) bool { return !slices.Contains(granted, s) })
}

// cookieReach is the session cookie's scope: domain and the hosts under
// it, else (host-only) public_url's host alone. Ports do not count.
// hostName is an own cookie_name with the __Host- prefix, which a Domain
// attribute is refused with.
type cookieReach struct {
	domain, public string
	hostName       bool
}

// covers reports whether the cookie reaches every host the key h matches.
func (c cookieReach) covers(h string) bool {
	if c.domain == "" {
		return h == c.public
	}
	name := strings.TrimPrefix(h, ".")
	return name == c.domain || strings.HasSuffix(name, "."+c.domain)
}

// outside says that the host written raw (key h) never gets the cookie,
// and what to set instead.
func (c cookieReach) outside(raw, h string) string {
	base, why := c.domain, fmt.Sprintf("session.cookie_domain %q does not cover it", c.domain)
	if base == "" {
		base, why = c.public, fmt.Sprintf("without session.cookie_domain it is the host-only cookie of public_url's host %q", c.public)
	}
	msg := fmt.Sprintf("%q never gets the session cookie: %s, so a sign-in there comes back without a session and starts again (forward-auth: 401)", raw, why)
	switch dom := commonDomain(base, strings.TrimPrefix(h, ".")); {
	case dom == "":
		return msg + fmt.Sprintf("; no cookie reaches both it and %q (they are different sites): give it a gateway of its own", base)
	case c.hostName:
		// __Secure- keeps what the cookie_domain allows: a cookie that a
		// plain-http answer cannot set (warnUnprefixed).
		return msg + fmt.Sprintf("; set session.cookie_domain = %q and a session.cookie_name with the %q prefix in place of %q",
			dom, secureCookiePrefix, hostCookiePrefix)
	default:
		return msg + fmt.Sprintf("; set session.cookie_domain = %q", dom)
	}
}

// commonDomain is the longest domain that a and b both lie in or are, when
// it is not a public suffix; else "".
func commonDomain(a, b string) string {
	if _, err := netip.ParseAddr(a); err == nil {
		return ""
	}
	if _, err := netip.ParseAddr(b); err == nil {
		return ""
	}
	la, lb := strings.Split(a, "."), strings.Split(b, ".")
	n := 0
	for n < len(la) && n < len(lb) && la[len(la)-1-n] == lb[len(lb)-1-n] {
		n++
	}
	dom := strings.Join(la[len(la)-n:], ".")
	if ps, _ := publicsuffix.PublicSuffix(dom); n == 0 || ps == dom {
		return ""
	}
	return dom
}
