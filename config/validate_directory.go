package config

import (
	"encoding/json"
	"fmt"
	"net/mail"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/ascii"
)

// serviceAccountKey is what a Google service-account JSON key must hold.
type serviceAccountKey struct {
	Type        string `json:"type"`
	ClientEmail string `json:"client_email"`
	PrivateKey  string `json:"private_key"`
	TokenURI    string `json:"token_uri"`
}

// validateDirectory checks the keys of directory groups (docs/providers/):
// each belongs to its kinds, and the service-account key is read here, once,
// and handed to idp as bytes.
func (d *decoder) validateDirectory(p *providerSection, kind string) {
	only := func(key, val string, kinds ...string) bool {
		if val == "" {
			return false
		}
		for _, k := range kinds {
			if k == kind {
				return true
			}
		}
		d.problem("provider."+key, "only used with kind = \"%s\"", strings.Join(kinds, `" or "`))
		return false
	}
	if only("hosted_domain", p.HostedDomain, "google") {
		if strings.ContainsAny(p.HostedDomain, "@/: ") || !strings.Contains(p.HostedDomain, ".") {
			d.problem("provider.hosted_domain", "must be a domain name such as example.com, got %q", p.HostedDomain)
		}
	}
	if only("google_service_account_file", p.GoogleServiceAccountFile, "google") {
		d.readServiceAccount(p)
	}
	if only("google_admin_email", p.GoogleAdminEmail, "google") {
		if a, err := mail.ParseAddress(p.GoogleAdminEmail); err != nil || a.Address != p.GoogleAdminEmail {
			d.problem("provider.google_admin_email", "must be an email address, got %q", p.GoogleAdminEmail)
		} else if p.GoogleServiceAccountFile == "" {
			d.problem("provider.google_admin_email", "needs google_service_account_file (the service account that acts as this admin)")
		}
	}
	if only("github_api_url", p.GitHubAPIURL, "github") {
		d.checkCleartextURL("provider.github_api_url", p.GitHubAPIURL, true, "access tokens")
	}
	if only("directory_url", p.DirectoryURL, "google", "entra") {
		d.checkCleartextURL("provider.directory_url", p.DirectoryURL, true, "access tokens")
		if kind == "google" && p.GoogleServiceAccountFile == "" {
			d.problem("provider.directory_url", "needs google_service_account_file: without it Google's directory is not read")
		}
	}
	if kind == "entra" && p.Issuer != "" {
		d.checkEntraIssuer(p.Issuer)
	}
}

// warnGroupCase warns about allow_groups entries that can never match the
// directory's spelling: Google group addresses and GitHub organisations and
// teams are lowercase ASCII (GitHub slugifies team names to ASCII; a Google
// group address holds letters, digits, dashes, underscores, apostrophes and
// dots), so an upper-case or non-ASCII entry (a fullwidth "ａｄｍｉｎｓ", a
// Cyrillic "а") never matches; Entra ID names groups by lowercase object IDs.
func (d *decoder) warnGroupCase(kind string, routes []routeSection) {
	for _, r := range routes {
		for i, g := range r.AllowGroups {
			if why := groupNeverMatches(kind, g); why != "" {
				d.warn(fmt.Sprintf("%s.allow_groups[%d]", r.path, i), "%q never matches: %s", g, why)
			}
		}
	}
}

// warnGitHubAppOrgs warns about organisations in allow_groups when
// client_id is a GitHub App's (GitHub App client IDs begin "Iv1." or
// "Iv23"; an OAuth app's do not): GitHub answers GET /user/orgs with an
// empty list for a GitHub App's user token, so the directory never yields
// an organisation, only teams.
func (d *decoder) warnGitHubAppOrgs(p *providerSection, kind string, routes []routeSection) {
	if kind != "github" || !(strings.HasPrefix(p.ClientID, "Iv1.") || strings.HasPrefix(p.ClientID, "Iv23")) {
		return
	}
	for _, r := range routes {
		for i, g := range r.AllowGroups {
			if !strings.Contains(g, "/") && groupNeverMatches(kind, g) == "" {
				d.warn(fmt.Sprintf("%s.allow_groups[%d]", r.path, i), "%q never matches: client_id %s is a GitHub App's, and GitHub "+
					"lists no organisations for a GitHub App's user token (GET /user/orgs answers []); use an OAuth app, or teams", g, p.ClientID)
			}
		}
	}
}

// groupNeverMatches says why kind's directory never yields group g, or "":
// Google yields group addresses, GitHub "org" and "org/slug". The shape is
// judged on the lowercase spelling first, so that the fix a warning
// suggests is one the directory can yield: a team's display name
// lowercased ("acme/platform team") is no more a slug than it was.
func groupNeverMatches(kind, g string) string {
	switch kind {
	case "google", "github":
		if i := strings.IndexFunc(g, func(c rune) bool { return c >= utf8.RuneSelf }); i >= 0 {
			r, _ := utf8.DecodeRuneInString(g[i:])
			return fmt.Sprintf("kind = %q spells groups in ASCII, and %q (%U) is not", kind, r, r)
		}
		lower := strings.ToLower(g)
		why := googleGroupShape(lower)
		if kind == "github" {
			why = githubGroupShape(lower)
		}
		if why == "" && g != lower {
			why = fmt.Sprintf("kind = %q spells groups in lowercase (%q)", kind, lower)
		}
		return why
	case "entra":
		if isGUID(g) && g != strings.ToLower(g) {
			return fmt.Sprintf("Entra ID names groups by lowercase object IDs (%q)", strings.ToLower(g))
		}
	}
	return lookalikeGroup(g)
}

// lookalikeGroup says why no identity ever holds group g, whatever the
// kind, or "": a sign-in with a group an application would read as another
// (ascii.Misreadable) is refused, and an Entra app role of that kind is
// left out.
func lookalikeGroup(g string) string {
	if why := ascii.Misreadable(g); why != "" {
		return why + ", and a sign-in with such a group is refused"
	}
	return ""
}

// googleGroupShape says why lowercase g is no Google group address, or "":
// a group's name ("SRE Team") is not its address, and no address holds a
// space.
func googleGroupShape(g string) string {
	local, _, ok := strings.Cut(g, "@")
	switch {
	case !ok:
		return fmt.Sprintf(`kind = "google" names a group by its address (%q)`, slugged(local, "'")+"@your-domain")
	case strings.ContainsAny(g, " \t"):
		return `kind = "google" names a group by its address, which holds no space`
	}
	return ""
}

// githubGroupShape says why lowercase g is no GitHub group, or "": the
// directory yields "org" and "org/slug" (logins and slugs hold no ':' or
// '/'), where other gateways write a team "org:team". Logins and slugs are
// letters, digits and '-' (GitHub makes a team's slug from its name:
// "Platform Team" is platform-team); '_' and '.' are let through, as older
// names may hold them.
func githubGroupShape(g string) string {
	org, slug, team := strings.Cut(g, "/")
	if strings.Contains(g, ":") || org == "" || team && (slug == "" || strings.Contains(slug, "/")) {
		why := `kind = "github" names an organisation "org" and a team "org/slug"`
		if o, t, ok := strings.Cut(g, ":"); ok && o != "" && t != "" && !strings.ContainsAny(t, ":/") && !strings.Contains(o, "/") {
			why += fmt.Sprintf(" (%q)", o+"/"+t)
		}
		return why
	}
	switch {
	case slugged(org, "") != org:
		return `kind = "github" names an organisation by its login, the name in its URL github.com/ORG, not its display name`
	case team && slugged(slug, "") != slug:
		return fmt.Sprintf(`kind = "github" names a team by its slug, the last part of its URL github.com/orgs/ORG/teams/SLUG, not its display name (%q)`,
			org+"/"+slugged(slug, ""))
	}
	return ""
}

// slugged is lowercase s with each run of characters other than letters,
// digits, '-', '_', '.' and those of extra made one '-', trimmed of '-'.
func slugged(s, extra string) string {
	var b strings.Builder
	dash := false
	for _, c := range s {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.ContainsRune("-_."+extra, c) {
			b.WriteRune(c)
			dash = false
		} else if !dash {
			b.WriteByte('-')
			dash = true
		}
	}
	return strings.Trim(b.String(), "-")
}

// isGUID reports whether s is a GUID in its 8-4-4-4-12 hex form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return false
			}
		case !strings.ContainsRune("0123456789abcdefABCDEF", c):
			return false
		}
	}
	return true
}

// warnOpenSignIn warns about routes that let in anyone the provider
// signs in when that is anyone at all: a Google account without
// hosted_domain, any GitHub user, any account of a publicIssuer. Such a route (not public, not deny) names
// no group, email, email domain (but "*" and, with Google, the domains every
// account can have an address at: domainsRestrict), or claim, and requires no
// scope beyond provider.scopes (those the gateway asks for, which the
// provider grants every user).
func (d *decoder) warnOpenSignIn(p *providerSection, kind string, routes []routeSection) {
	var who, fix string
	google := kind == "google" || p.Issuer == "https://accounts.google.com"
	switch {
	case google && p.HostedDomain == "" && kind != "google":
		// hosted_domain is refused without kind = "google" (validateDirectory).
		who, fix = "any Google account", `set provider.kind = "google" and provider.hosted_domain, or restrict`
	case google && p.HostedDomain == "":
		who, fix = "any Google account", "set provider.hosted_domain, or restrict"
	case kind == "github":
		who, fix = "any GitHub user", "restrict"
	case publicIssuer(p.Issuer) != "":
		who, fix = publicIssuer(p.Issuer), "restrict"
	default:
		return
	}
	granted := requestedScopes(p, kind)
	open := func(d string) bool { return d == "*" || (google && sharedGoogleDomain(d)) }
	for _, r := range routes {
		if r.Public || r.Deny || len(r.AllowGroups) > 0 || len(r.AllowEmails) > 0 ||
			len(r.RequireClaims) > 0 || domainsRestrict(r.AllowEmailDomains, open) ||
			slices.ContainsFunc(r.RequireScopes, func(s string) bool { return !slices.Contains(granted, s) }) {
			continue
		}
		d.warn(r.path, "%s can sign in and reach this route: %s it with allow_groups, allow_emails or allow_email_domains",
			who, fix)
	}
}

// domainsRestrict reports whether allow_email_domains restricts who
// passes: it names a domain and none that anyone can have an address at
// (open). A route passes an address at any one of its domains, so one open
// domain among others opens it ("*" next to "acme.com" counted as a
// restriction).
func domainsRestrict(domains []string, open func(string) bool) bool {
	return len(domains) > 0 && !slices.ContainsFunc(domains, open)
}

// sharedGoogleDomain reports whether d is an email domain at which anyone
// can have an address Google vouches for: Gmail's, and the service-account
// domains every Google Cloud project shares (PROJECT@appspot, NUMBER-compute@developer)
// or whose subdomain any project names (NAME@PROJECT.iam). A service
// account can mint an ID token with any audience, the client ID included,
// which the gateway takes as a bearer token. One project's own
// PROJECT.iam.gserviceaccount.com is that project's.
func sharedGoogleDomain(d string) bool {
	switch strings.ToLower(d) {
	case "gmail.com", "googlemail.com", "gserviceaccount.com", "iam.gserviceaccount.com",
		"appspot.gserviceaccount.com", "developer.gserviceaccount.com":
		return true
	}
	return false
}

// warnOpenExtraIssuer warns about routes that every token of an extra
// issuer passes: some sign for anyone (any GitHub repository's workflow can
// have GitHub Actions sign a token for the audience "portcullis", any pod
// of a cluster its Kubernetes), and such a token then reaches a route meant
// for the provider's users. Such a route (not public, not deny) names no
// group, email, email domain (but "*" and, with Google among them, the
// domains every account can have an address at), claim other than the
// issuer's own iss and audiences (claimsBindNothingFor) or scope; the extra
// issuers' tokens carry whatever scopes their issuer grants, so any
// required scope counts as a condition.
func (d *decoder) warnOpenExtraIssuer(p *providerSection, kind string, routes []routeSection) {
	if len(p.ExtraIssuers) == 0 {
		return
	}
	names := make([]string, len(p.ExtraIssuers))
	google := false // Google signs for any account and any project's service account
	for i, x := range p.ExtraIssuers {
		names[i] = fmt.Sprintf("%s (%q)", x.path, x.Issuer)
		google = google || x.Issuer == idp.GoogleIssuer || x.Issuer == "accounts.google.com"
	}
	open := func(d string) bool { return d == "*" || (google && sharedGoogleDomain(d)) }
	only := "the issuer's own claims, such as repository_owner"
	if iss := p.Issuer; iss != "" || kind == "google" {
		only = fmt.Sprintf("{ iss = %q } for the provider's users only, or %s", orDefault(iss, idp.GoogleIssuer), only)
	}
	for _, r := range routes {
		if r.Public || r.Deny || len(r.AllowGroups) > 0 || len(r.AllowEmails) > 0 ||
			len(r.RequireScopes) > 0 || domainsRestrict(r.AllowEmailDomains, open) {
			continue
		}
		var to []string // the issuers whose every token passes r
		for i, x := range p.ExtraIssuers {
			if claimsBindNothingFor(r.RequireClaims, x) {
				to = append(to, names[i])
			}
		}
		if len(to) > 0 {
			d.warn(r.path, "any token that %s signs for its audiences can reach this route: restrict it with require_claims (%s), allow_groups or allow_emails",
				strings.Join(to, ", "), only)
		}
	}
}

// readServiceAccount reads google_service_account_file: JSON of type
// service_account with a client_email and a private_key. Its token_uri is
// sent a grant the private key signs, which whoever reads it can use until
// it expires: http:// off loopback is warned about, as token_url is.
func (d *decoder) readServiceAccount(p *providerSection) {
	const key = "provider.google_service_account_file"
	b, ok := d.readSecretFile(key, p.GoogleServiceAccountFile)
	if !ok {
		return
	}
	var sa serviceAccountKey
	switch err := json.Unmarshal(b, &sa); {
	case err != nil:
		d.problem(key, "not a JSON key file: %v", err)
	case sa.Type != "service_account":
		d.problem(key, `must be a service account key ("type": "service_account"), got type %q`, sa.Type)
	case sa.ClientEmail == "" || sa.PrivateKey == "":
		d.problem(key, "the key has no client_email or private_key")
	case sa.TokenURI != "":
		const sent = "the service account's signed grants (its key's token_uri) and the access tokens they get"
		if u := d.checkCleartextURL(key, sa.TokenURI, false, sent); u == nil {
			return
		}
		fallthrough
	default:
		p.googleServiceAccountJSON = b
	}
}

// checkEntraIssuer checks kind = "entra"'s issuer: the v2.0 endpoint of one
// tenant. The multi-tenant aliases have no fixed issuer to verify tokens
// against.
func (d *decoder) checkEntraIssuer(iss string) {
	trimmed := strings.TrimSuffix(iss, "/")
	if !strings.HasSuffix(trimmed, "/v2.0") {
		d.problem("provider.issuer", "kind = \"entra\" uses the v2.0 endpoints: the issuer is https://login.microsoftonline.com/TENANT-ID/v2.0, got %q", withoutUserinfo(iss))
		return
	}
	parts := strings.Split(trimmed, "/")
	if len(parts) >= 2 {
		switch strings.ToLower(parts[len(parts)-2]) {
		case "common", "organizations", "consumers":
			d.problem("provider.issuer", "name one tenant (its ID) instead of %q: multi-tenant issuers cannot be verified", parts[len(parts)-2])
		}
	}
}
