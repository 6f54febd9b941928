package idp

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/portcullis/portcullis/internal/ascii"
)

// Provider kinds beyond plain OIDC and OAuth 2.0 (docs/providers/).
const (
	// GoogleIssuer is the issuer kind = "google" defaults to.
	GoogleIssuer = "https://accounts.google.com"
	// githubReadOrg is the scope GitHub needs to list a user's
	// organisations and teams, private memberships included.
	githubReadOrg = "read:org"
	// githubUserEmail is the scope GitHub needs to say which of a user's
	// addresses are verified (GET /user/emails).
	githubUserEmail = "user:email"
)

// ErrHostedDomain means a Google account is not one of hosted_domain's
// Workspace accounts: the sign-in is refused.
var ErrHostedDomain = errors.New("idp: the Google account is not in the hosted domain")

// isOIDC reports whether the client speaks OpenID Connect (discovery, ID
// tokens): kinds oidc, google and entra.
func (c *Client) isOIDC() bool { return isOIDCKind(c.cfg.Kind) }

func isOIDCKind(kind string) bool { return kind == "oidc" || kind == "google" || kind == "entra" }

// kindDefaults fills in what kinds google, entra and github add before the
// generic defaults run. The caller's AuthParams map is never modified.
func kindDefaults(cfg *Config) error {
	switch cfg.Kind {
	case "google":
		cfg.Issuer = cmpOr(cfg.Issuer, GoogleIssuer)
		// Google returns a refresh token only with access_type=offline, and
		// again on later logins only when consent is prompted for: without
		// them a session would end with its first access token (1 h).
		params := map[string]string{"access_type": "offline", "prompt": "consent"}
		if cfg.HostedDomain != "" {
			// hd only narrows Google's account chooser; the ID token's hd
			// claim is what is checked.
			params["hd"] = cfg.HostedDomain
		}
		maps.Copy(params, cfg.AuthParams)
		cfg.AuthParams = params
	case "entra":
		if cfg.Issuer == "" {
			return fmt.Errorf("idp: kind \"entra\" needs the issuer https://login.microsoftonline.com/TENANT/v2.0")
		}
		if cfg.Scopes == nil {
			// offline_access: Entra ID issues refresh tokens only when asked;
			// User.Read makes the access token one for Microsoft Graph, which
			// reads the groups on overage.
			cfg.Scopes = []string{"openid", "email", "profile", "offline_access", "User.Read"}
		}
	case "github":
		if err := githubDefaults(cfg); err != nil {
			return err
		}
	}
	if cfg.HostedDomain != "" && cfg.Kind != "google" {
		return fmt.Errorf("idp: hosted_domain is for kind \"google\" only")
	}
	return nil
}

// checkHostedDomain refuses claims of the provider's own issuer whose hd is
// not hosted_domain. An email domain check is not enough: a consumer Google
// account may carry any address; only Workspace accounts carry hd.
func (c *Client) checkHostedDomain(claims map[string]any, issuer string) error {
	if c.cfg.HostedDomain == "" || c.canonicalIssuer(issuer) != c.cfg.Issuer {
		return nil
	}
	hd, _ := claims["hd"].(string)
	if !ascii.EqualFold(hd, c.cfg.HostedDomain) {
		if hd == "" {
			return fmt.Errorf("%w: not a %s Workspace account (its ID token has no hd claim)", ErrHostedDomain, c.cfg.HostedDomain)
		}
		return fmt.Errorf("%w: it belongs to %q, not %q", ErrHostedDomain, hd, c.cfg.HostedDomain)
	}
	return nil
}

// entraOverage reports whether an Entra ID token left its groups out
// because there are too many (the "groups overage"): it then names a claim
// source for groups (_claim_names, OpenID Connect Core 5.6.2) or, from the
// implicit flow, says hasgroups. The source's endpoint is never called: the
// groups are read from the configured Graph (directory_url).
func entraOverage(claims map[string]any) bool {
	if names, ok := claims["_claim_names"].(map[string]any); ok {
		if _, ok := names["groups"]; ok {
			return true
		}
	}
	hg, _ := claims["hasgroups"].(bool)
	return hg
}

// entraObjectIDs is groups (the groups claim, when groups_claim is
// "groups", of a token of the tenant: entraTenantToken) without the values
// that are no object ID. An app registration
// can make Entra ID put names there instead (sAMAccountName, or cloud-only
// groups' display names): names are not unique, a cloud-only group's owners
// may rename it to any text, and app roles are groups here too, so a group
// renamed after a role's value or a name a route allows would get that
// route. Graph, read on overage, yields object IDs only. A GUID-shaped
// display name cannot be told from an ID: the docs warn against names.
func (c *Client) entraObjectIDs(groups []string) []string {
	if c.cfg.GroupsClaim != "groups" || !slices.ContainsFunc(groups, notObjectID) {
		return groups
	}
	n := len(groups)
	groups = slices.DeleteFunc(slices.Clone(groups), notObjectID)
	if c.warnedGroupNames.CompareAndSwap(false, true) {
		c.log.Warn("idp: Entra ID's groups claim holds values that are not group object IDs (the app registration emits group names); they are ignored: "+
			"set its groups claim format to Group ID", "ignored", n-len(groups))
	}
	return groups
}

// notObjectID reports whether s is not an object ID: a GUID in its
// 8-4-4-4-12 form, lowercase as Entra ID writes them.
func notObjectID(s string) bool {
	if len(s) != 36 {
		return true
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return true
			}
		case (c < '0' || c > '9') && (c < 'a' || c > 'f'):
			return true
		}
	}
	return false
}

// entraGroups is the groups claim (object IDs) followed by the app roles of
// the roles claim: allow_groups matches either. A role that could not be
// sent in the groups header (a control character, a space at either end, a
// comma, a look-alike) is left out (it could only grant, never deny, access).
func entraGroups(claims map[string]any, groups []string) []string {
	out := slices.Clone(groups)
	for _, r := range stringArray(claims["roles"]) {
		if !slices.Contains(out, r) && checkListElement(r) == nil && checkIdentityText(r) == nil {
			out = append(out, r)
		}
	}
	return out
}

// githubDefaults sets kind github's endpoints (GitHub Enterprise Server's
// from github_api_url) and scopes: user:email and read:org are always
// asked for.
func githubDefaults(cfg *Config) error {
	if api := strings.TrimSuffix(cfg.GitHubAPIURL, "/"); api != "" {
		// GitHub Enterprise Server: API at https://HOST/api/v3, OAuth
		// endpoints at https://HOST/login/oauth/.
		u, err := url.Parse(api)
		if err != nil || u.Hostname() == "" {
			return fmt.Errorf("idp: github_api_url %q is not a URL", cfg.GitHubAPIURL)
		}
		web := u.Scheme + "://" + u.Host
		cfg.AuthorizationURL = cmpOr(cfg.AuthorizationURL, web+"/login/oauth/authorize")
		cfg.TokenURL = cmpOr(cfg.TokenURL, web+"/login/oauth/access_token")
		cfg.UserinfoURL = cmpOr(cfg.UserinfoURL, api+"/user")
	}
	if cfg.Scopes == nil {
		cfg.Scopes = []string{"read:user", "user:email"}
	}
	for _, scope := range []string{githubUserEmail, githubReadOrg} {
		if !slices.Contains(cfg.Scopes, scope) {
			cfg.Scopes = append(slices.Clip(cfg.Scopes), scope)
		}
	}
	return nil
}
