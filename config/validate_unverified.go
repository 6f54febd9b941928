package config

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// warnEntraEmailRules warns about every allow_emails and
// allow_email_domains when the provider is Entra ID (kind "entra", or its
// v1.0 or v2.0 issuer under another kind) and assume_email_verified is off: Entra
// ID sends no email_verified, so such a rule refuses every user who signs
// in with it, each with "email not verified", while check said OK (the
// oauth2-proxy migration's email_domains gives one).
func (d *decoder) warnEntraEmailRules(p *providerSection, kind string, routes []routeSection) {
	if p.AssumeEmailVerified || (kind != "entra" && !entraIssuer(p.Issuer)) {
		return
	}
	for _, r := range routes {
		if !providerOnly(p, r) {
			continue
		}
		for _, key := range []struct {
			name string
			set  bool
		}{{"allow_emails", len(r.AllowEmails) > 0}, {"allow_email_domains", len(r.AllowEmailDomains) > 0}} {
			if key.set {
				d.warn(r.path+"."+key.name, "Entra ID sends no email_verified, so this rule refuses every user who signs in with it "+
					"(\"email not verified (the provider sent no email_verified claim)\"); route on groups or app roles (allow_groups), or set provider.assume_email_verified = true "+
					"if the tenant's email addresses are trustworthy (docs/providers/entra.md, Email)")
			}
		}
	}
}

// warnEntraGroupNames warns about an allow_groups entry that kind "entra"
// never yields with the default groups_claim: a group is its object ID,
// an app role its value, which Entra ID allows only in ASCII without a
// space; names in the groups claim are ignored (only "Emit groups as role
// claims", which docs/providers/entra.md advises against, puts them in
// roles). A group's display name ("SRE Team") refused every user and
// check said OK.
func (d *decoder) warnEntraGroupNames(p *providerSection, kind string, routes []routeSection) {
	if kind != "entra" || p.GroupsClaim != "groups" {
		return
	}
	for _, r := range routes {
		if !providerOnly(p, r) {
			continue
		}
		for i, g := range r.AllowGroups {
			if isGUID(g) || !strings.ContainsFunc(g, notAppRoleChar) {
				continue
			}
			d.warn(fmt.Sprintf("%s.allow_groups[%d]", r.path, i), "%q never matches: kind = \"entra\" names a group by its object ID "+
				"(Groups → the group → Object ID) and an app role by its value, which has no spaces and only ASCII; "+
				"a group's name reaches the identity only with \"Emit groups as role claims\", which the guide advises against", g)
		}
	}
}

// entraIssuer reports whether iss is Entra ID's: its v2.0 issuer, or its
// v1.0 one (https://sts.windows.net/TENANT/, or the national clouds'
// https://login.microsoftonline.us/TENANT/ and https://sts.chinacloudapi.cn/TENANT/),
// whose tokens lack email_verified as well. The hosts idp's bearer rules
// take for Entra's (idp/entra.go).
func entraIssuer(iss string) bool {
	u, err := url.Parse(iss)
	if err != nil {
		return false
	}
	host := strings.ToLower(u.Hostname())
	return host == "sts.windows.net" || host == "sts.chinacloudapi.cn" || slices.Contains(entraV2Hosts, host)
}

// providerOnly reports whether only the provider's own identities reach
// route r: without extra issuers, or with r's require_claims pinning iss
// to provider.issuer. An extra issuer's bearer tokens are not bound by
// Entra ID's rules (a Google service account's ID token says
// email_verified, a Keycloak's or a CI system's groups are names), so a
// rule the warnings above name may be meant for them and match.
func providerOnly(p *providerSection, r routeSection) bool {
	return len(p.ExtraIssuers) == 0 || (r.RequireClaims["iss"] == p.Issuer && p.Issuer != "")
}

// notAppRoleChar reports whether c may not appear in an Entra ID app
// role's value (letters, digits and ASCII punctuation only).
func notAppRoleChar(c rune) bool {
	return c <= ' ' || c > '~'
}
