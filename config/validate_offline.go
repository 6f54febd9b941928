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

// warnKindGoogleIssuer warns when kind "google" names an issuer that is not
// Google's: Google's rules then apply to another provider's users. Every
// authorization request asks for prompt=consent and access_type=offline
// (Entra ID shows its consent page at every sign-in, and refuses users who
// may not consent), and an email address counts as verified only for a
// Gmail or Workspace account (idp googleAuthoritative), so a rule by email
// refuses every user. The chart's values set kind google: a Helm user who
// overrides only provider.issuer keeps it, as Helm merges maps.
func (d *decoder) warnKindGoogleIssuer(p *providerSection, kind string) {
	if kind != "google" || p.Issuer == "" || strings.TrimSuffix(p.Issuer, "/") == "https://accounts.google.com" {
		return
	}
	d.warn("provider.kind", `kind = "google" with provider.issuer %q, which is not Google's: Google's rules apply to its users (prompt=consent and access_type=offline at every sign-in; an email address counts as verified only for a Gmail or Workspace account, so rules by email refuse the others); set provider.kind for that provider ("oidc", "entra"), or remove provider.issuer for Google`, p.Issuer)
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
