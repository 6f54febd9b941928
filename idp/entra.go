package idp

// Entra ID's rules for the bearer tokens its tenants issue: which issuers
// are Entra's, which of their tokens are ID tokens, and which grant
// nothing. They follow the token's issuer, not provider.kind.

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/internal/ascii"
)

// entraIDToken names an Entra ID token that carries no mark notAnAccessToken
// knows: one from the token endpoint (a refresh's, the one the gateway keeps
// for id_token_hint) has no nonce, at_hash or c_hash, and its aud is the
// client ID, the default audience. Entra's access tokens always name the
// client they were issued to (azp in v2.0 tokens, appid in v1.0), its ID
// tokens never do; client_id is RFC 9068's name for the same.
func entraIDToken(claims map[string]any) string {
	for _, k := range []string{"azp", "appid", "client_id"} {
		if _, ok := claims[k]; ok {
			return ""
		}
	}
	return "an ID token (no azp or appid)"
}

// entraTenantToken reports whether a verified token is one of the Entra ID
// tenant the provider's issuer names, to which Entra's token rules apply:
// the provider's own (v2.0), or an extra issuer's that says it is of that
// tenant (tid): the v1.0 issuer https://sts.windows.net/TENANT/, which an
// operator trusts for an API that keeps v1.0 access tokens (Entra's
// default). Another tenant's token is not the provider's: its groups are
// read as any extra issuer's, while Entra's token rules still bind it when
// its issuer is Entra's (checkAccessClaims).
// The provider is Entra's by its issuer too (entraProvider): its tokens
// are the same under kind = "oidc".
func (c *Client) entraTenantToken(iss string, claims map[string]any) bool {
	if !c.entra {
		return false
	}
	if iss == c.cfg.Issuer {
		return true
	}
	// ASCII case, as every name the gateway compares: a tenant is a GUID
	// (or a domain name), and tid is of a token whose signature was checked.
	tid, _ := claims["tid"].(string)
	return tid != "" && ascii.EqualFold(tid, entraTenant(c.cfg.Issuer))
}

// entraRefusal applies Entra's rules for its tenant's access tokens to an
// introspection answer the provider vouched for (entraTenantToken): one
// that names no client is an ID token, and an app-only one must carry an
// app role. RFC 7662 names the delegated scopes scope, Entra scp.
func entraRefusal(claims map[string]any) error {
	if kind := entraIDToken(claims); kind != "" {
		return fmt.Errorf("%s is not an access token", kind)
	}
	if entraUngranted(claims) && len(scopesOf(claims)) == 0 {
		return errors.New("an app-only token with no app role (any application with a service principal in the tenant can obtain one): assign the client an app role")
	}
	return nil
}

// entraLoginHosts are the hosts of Entra ID's v2.0 issuers, one per cloud
// (docs/providers/entra.md, national clouds); the US Government cloud's
// v1.0 issuer is on its login host too (https://login.microsoftonline.us/TENANT/).
var entraLoginHosts = []string{"login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn"}

// entraV1Hosts are the hosts of Entra ID's v1.0 issuers of the other
// clouds (https://sts.windows.net/TENANT/, China's https://sts.chinacloudapi.cn/TENANT/),
// the issuers of a tenant's v1.0 tokens and of its v1.0 discovery document.
var entraV1Hosts = []string{"sts.windows.net", "sts.chinacloudapi.cn"}

// entraProvider reports whether cfg's provider is an Entra ID tenant:
// kind = "entra", or, with another kind, an issuer on one of Entra's hosts
// (entraIssuer). Entra's rules for bearer tokens (an ID token names no
// client, an app-only token must grant something) are about the tokens
// Entra issues, so they follow the issuer, as Google's rules for
// addresses do (googleAuthoritative): keyed to the kind, an Entra tenant
// configured as kind = "oidc" took its ID tokens and any service
// principal's app-only token for access tokens, and keyed to the v2.0
// issuers, one configured by its v1.0 issuer did.
func entraProvider(cfg Config) bool {
	return cfg.Kind == "entra" || (isOIDCKind(cfg.Kind) && entraIssuer(cfg.Issuer))
}

// entraIssuer reports whether iss is on one of Entra ID's hosts, whatever
// its path: only Entra's tenants issue tokens there. Keyed to the two
// shapes of the global cloud's issuers (TENANT/v2.0, and TENANT/ on
// sts.windows.net), a national cloud's v1.0 issuer escaped Entra's rules.
func entraIssuer(iss string) bool {
	u, err := url.Parse(iss)
	if err != nil {
		return false
	}
	// A final "." names the same host in DNS, and fails closed here.
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	return slices.Contains(entraV1Hosts, host) || slices.Contains(entraLoginHosts, host)
}

// entraTenant is the tenant an Entra ID issuer names: the first segment of
// the path of an issuer on Entra's hosts (TENANT/v2.0, or the v1.0 TENANT/),
// or, on another host (kind = "entra" through a proxy or a stand-in), the
// segment before v2.0; "" when it names none.
func entraTenant(issuer string) string {
	if entraIssuer(issuer) {
		u, _ := url.Parse(issuer)
		tenant, _, _ := strings.Cut(strings.TrimPrefix(u.Path, "/"), "/")
		return tenant
	}
	parts := strings.Split(strings.TrimSuffix(issuer, "/"), "/")
	if len(parts) >= 2 && parts[len(parts)-1] == "v2.0" {
		return parts[len(parts)-2]
	}
	return ""
}

// entraUngranted reports whether an Entra ID access token grants nothing:
// no scp (no user delegated it: an app-only token) and no roles (no app
// role was assigned to the client). Entra ID issues such a token for the
// API to any application with a service principal in the tenant, one of
// another publisher too once a user consented to it, unless the API's
// enterprise application requires assignment; Microsoft's guidance is that
// an API refuses it, and the gateway cannot tell whether assignment is
// required.
func entraUngranted(claims map[string]any) bool {
	if scp, _ := claims["scp"].(string); strings.TrimSpace(scp) != "" {
		return false
	}
	return len(stringArray(claims["roles"])) == 0
}
