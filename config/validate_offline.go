package config

import (
	"net/url"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/internal/ascii"
)

// entraV2Hosts are the hosts of Microsoft Entra ID's v2.0 issuers, one per
// cloud (https://HOST/TENANT/v2.0).
var entraV2Hosts = []string{"login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn"}

// warnNoRefreshToken warns when the provider is Google's or Entra ID's,
// named by its issuer under another kind (or, for kind "oauth2", by its
// authorization endpoint), and the authorization request lacks what that
// provider needs before it issues a refresh token: every session would then
// end with its first access token (about an hour), with session.refresh on
// and nothing else said. Kinds "google" and "entra" ask for it themselves.
func (d *decoder) warnNoRefreshToken(p *providerSection, kind string, s *sessionSection) {
	if !s.Refresh || kind == "google" || kind == "entra" || kind == "github" {
		return
	}
	key, what, google, entra := "provider.issuer", "issuer", isGoogleIssuer(p.Issuer), entraV2Issuer(p.Issuer)
	params := p.AuthParams
	if !isOIDC(kind) {
		key, what, google, entra = "provider.authorization_url", "authorization endpoint", isGoogleAuthURL(p.AuthorizationURL), entraV2AuthURL(p.AuthorizationURL)
		params = withURLQuery(p.AuthorizationURL, params)
	}
	switch {
	case google:
		if why := googleOffline(params); why != "" {
			d.warn(key, `Google's %s with kind = %q: %s, so sessions end with their first access token (1 h); set provider.kind = "google", which asks for offline access with consent`, what, kind, why)
		}
	case entra && !slices.Contains(requestedScopes(p, kind), "offline_access"):
		d.warn(key, `Entra ID's %s with kind = %q: provider.scopes lacks "offline_access", without which Entra ID issues no refresh token, so sessions end with their first access token (about 1 h); set provider.kind = "entra", or add "offline_access" to scopes`, what, kind)
	}
}

// warnKindGoogleIssuer warns when kind "google" names an issuer that is not
// Google's: Google's rules then apply to another provider's users. Every
// authorization request asks for prompt=consent and access_type=offline
// (Entra ID shows its consent page at every sign-in, and refuses users who
// may not consent), and an email address counts as verified only for a
// Gmail or Workspace account (idp googleAuthoritative), so a rule by email
// refuses every user. Helm merges maps: a values file that sets kind google
// keeps it when an override changes only provider.issuer.
func (d *decoder) warnKindGoogleIssuer(p *providerSection, kind string) {
	if kind != "google" || p.Issuer == "" || isGoogleIssuer(p.Issuer) {
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

// withURLQuery is params with the parameters of auth's own query that
// params does not set: the authorization request keeps that query and
// appends its own parameters (auth_params among them) to it.
func withURLQuery(auth string, params map[string]string) map[string]string {
	u, err := url.Parse(auth)
	if err != nil || u.RawQuery == "" {
		return params
	}
	out := map[string]string{}
	for k, v := range u.Query() {
		out[k] = v[0]
	}
	for k, v := range params {
		out[k] = v
	}
	return out
}

// isGoogleIssuer reports whether iss is Google's issuer.
func isGoogleIssuer(iss string) bool {
	return strings.TrimSuffix(iss, "/") == "https://accounts.google.com"
}

// entraV2Issuer reports whether iss is an Entra ID v2.0 issuer.
func entraV2Issuer(iss string) bool {
	u, err := url.Parse(iss)
	return err == nil && slices.Contains(entraV2Hosts, strings.ToLower(u.Hostname())) &&
		strings.HasSuffix(strings.TrimSuffix(u.Path, "/"), "/v2.0")
}

// isGoogleAuthURL reports whether auth is Google's authorization endpoint
// (https://accounts.google.com/o/oauth2/v2/auth, or its older /o/oauth2/auth).
func isGoogleAuthURL(auth string) bool {
	u, err := url.Parse(auth)
	return err == nil && ascii.EqualFold(u.Hostname(), "accounts.google.com")
}

// entraV2AuthURL reports whether auth is an Entra ID v2.0 authorization
// endpoint (https://HOST/TENANT/oauth2/v2.0/authorize).
func entraV2AuthURL(auth string) bool {
	u, err := url.Parse(auth)
	return err == nil && slices.Contains(entraV2Hosts, strings.ToLower(u.Hostname())) &&
		strings.Contains(u.Path, "/oauth2/v2.0/")
}
