package config

import (
	"net/url"
	"slices"
	"strings"
)

// entraV2Hosts are the hosts of Microsoft Entra ID's v2.0 issuers, one per
// cloud (https://HOST/TENANT/v2.0).
var entraV2Hosts = []string{"login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn"}

// warnNoRefreshToken warns when the provider is Google's or Entra ID's,
// named by its issuer under another kind, and the authorization request
// lacks what that provider needs before it issues a refresh token: every
// session would then end with its first access token (about an hour), with
// session.refresh on and nothing else said. Kinds "google" and "entra" ask
// for it themselves.
func (d *decoder) warnNoRefreshToken(p *providerSection, kind string, s *sessionSection) {
	if !s.Refresh || kind == "google" || kind == "entra" || !isOIDC(kind) {
		return
	}
	switch {
	case strings.TrimSuffix(p.Issuer, "/") == "https://accounts.google.com":
		if why := googleOffline(p.AuthParams); why != "" {
			d.warn("provider.issuer", `Google's issuer with kind = %q: %s, so sessions end with their first access token (1 h); set provider.kind = "google", which asks for offline access with consent`, kind, why)
		}
	case entraV2Issuer(p.Issuer) && !slices.Contains(requestedScopes(p, kind), "offline_access"):
		d.warn("provider.issuer", `Entra ID's issuer with kind = %q: provider.scopes lacks "offline_access", without which Entra ID issues no refresh token, so sessions end with their first access token (about 1 h); set provider.kind = "entra", or add "offline_access" to scopes`, kind)
	}
}

// googleOffline says what of Google's offline access the authorization
// parameters params lack ("" for nothing): access_type=offline, else no
// refresh token at all; prompt=consent, else one only at a user's first
// consent to the client, none at later sign-ins.
func googleOffline(params map[string]string) string {
	if params["access_type"] != "offline" {
		return `without auth_params access_type = "offline" Google issues no refresh token`
	}
	if !slices.Contains(strings.Fields(params["prompt"]), "consent") {
		return `without auth_params prompt = "consent" Google issues a refresh token only at a user's first consent, none at later sign-ins`
	}
	return ""
}

// entraV2Issuer reports whether iss is an Entra ID v2.0 issuer.
func entraV2Issuer(iss string) bool {
	u, err := url.Parse(iss)
	return err == nil && slices.Contains(entraV2Hosts, strings.ToLower(u.Hostname())) &&
		strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/v2.0")
}
