package config

import (
	"net/url"
	"strings"

	"golang.org/x/net/publicsuffix"
)

// msaTenant is the directory ID of personal Microsoft accounts: the tenant
// Entra ID's "consumers" alias resolves to, the same in every directory.
const msaTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"

// publicIssuer names who an OpenID Connect issuer signs in when anyone
// can open an account there, or "" for an issuer of one organisation. A
// route that names nobody then lets the whole world in (warnOpenSignIn).
// GitLab.com signs in every user it has, whichever group's settings made
// the application; the tenant of personal Microsoft accounts every
// outlook.com or hotmail.com address, and any address anyone registers.
// checkEntraIssuer refuses that tenant's alias "consumers", not its ID,
// which discovery of the alias names as the issuer.
func publicIssuer(iss string) string {
	u, err := url.Parse(iss)
	if err != nil || u.User != nil {
		return ""
	}
	host, path := strings.ToLower(u.Hostname()), strings.ToLower(strings.TrimSuffix(u.Path, "/"))
	switch {
	case host == "gitlab.com" && path == "":
		return "any GitLab.com user"
	case host == "login.microsoftonline.com" && path == "/"+msaTenant+"/v2.0":
		return "any personal Microsoft account"
	}
	return ""
}

// publicSuffixOf returns the public suffix that the wildcard host pattern
// ("*.github.io") covers as a whole, or "". Such a pattern admits every
// site anyone registers there, as a cookie_domain of a public suffix would
// reach them. A top-level name the list does not hold (publicsuffix's
// default rule: "internal", "local", a company's own) is a private zone,
// not a place where anyone registers.
func publicSuffixOf(pattern string) string {
	dom, ok := strings.CutPrefix(strings.ToLower(pattern), "*.")
	if !ok {
		return ""
	}
	// The redirect policy drops a trailing dot (policy.HostKey), so
	// "*.github.io." covers what "*.github.io" does; the list knows no
	// such spelling.
	dom = strings.TrimSuffix(dom, ".")
	ps, icann := publicsuffix.PublicSuffix(dom)
	if ps != dom || !icann && !strings.Contains(ps, ".") {
		return ""
	}
	return ps
}
