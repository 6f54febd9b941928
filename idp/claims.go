package idp

import (
	"errors"
	"fmt"
	"strings"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/ascii"
)

// identity turns a claims set into an Identity: the one mapping used for ID
// tokens, userinfo, GitHub and bearer tokens. A value bound for an identity
// header (user, email, preferred_username, groups and the claims of
// Config.HeaderClaims) that HeaderValue refuses is an error here, so that
// the login or the bearer token fails cleanly instead of the upstream
// seeing another value (or the request failing) later.
func (c *Client) identity(claims map[string]any, issuer string) (*portcullis.Identity, error) {
	issuer = c.canonicalIssuer(issuer)
	if iss, ok := claims["iss"].(string); ok && iss != issuer && c.canonicalIssuer(iss) == issuer {
		claims["iss"] = issuer // require_claims { iss = provider.issuer } holds for either spelling
	}
	if err := c.checkHostedDomain(claims, issuer); err != nil {
		return nil, err
	}
	id := &portcullis.Identity{Issuer: issuer, Claims: claims}
	v, _ := portcullis.LookupClaim(claims, c.cfg.UserClaim)
	id.Subject = subjectString(v)
	if id.Subject == "" {
		return nil, fmt.Errorf("%w: %q is missing or not a string or number", ErrNoUserClaim, c.cfg.UserClaim)
	}
	if err := c.setEmail(id, claims); err != nil {
		return nil, err
	}
	id.PreferredUsername, _ = claims["preferred_username"].(string)
	if err := c.setGroups(id, claims); err != nil {
		return nil, err
	}
	id.SessionID, _ = claims["sid"].(string)
	if id.ProviderSubject = subjectString(claims["sub"]); id.ProviderSubject == "" {
		id.ProviderSubject = id.Subject
	}
	if err := c.checkHeaderClaims(id, claims); err != nil {
		return nil, err
	}
	return id, nil
}

// setEmail sets id's email and whether it is verified, and refuses an
// unverified address that would be the user: the address email_claim
// names when user_claim is that claim, the email claim's when it is email.
func (c *Client) setEmail(id *portcullis.Identity, claims map[string]any) error {
	v, _ := portcullis.LookupClaim(claims, c.cfg.EmailClaim)
	id.Email, _ = v.(string)
	own, _ := claims["email"].(string)
	id.EmailVerified = c.addressVerified(id.Issuer, claims, id.Email, c.cfg.EmailClaim == "email" || id.Email == own)
	if (c.cfg.UserClaim == c.cfg.EmailClaim && !id.EmailVerified) ||
		(c.cfg.UserClaim == "email" && !c.addressVerified(id.Issuer, claims, own, true)) {
		// An unverified address is never identity (docs/requests.md, rules):
		// not in the email header, and not as the user either.
		return fmt.Errorf("%w: user_claim %q", ErrUnverifiedEmail, c.cfg.UserClaim)
	}
	return nil
}

// addressVerified reports whether the provider vouches for address:
// email_verified true where it speaks of address (stated: address is the
// email claim's; email_verified is the provider's word about that claim,
// OpenID Connect Core 5.1, and another claim, such as a username the user
// chose, may hold any address), or no email_verified at all and
// assume_email_verified; with Google's issuer, only an address Google
// answers for today (googleAuthoritative).
func (c *Client) addressVerified(issuer string, claims map[string]any, address string, stated bool) bool {
	ev, present := claims["email_verified"]
	b, isBool := ev.(bool)
	// assume_email_verified vouches for the provider's addresses only: an
	// extra issuer's (another tenant, a CI system) were never vetted.
	assume := c.cfg.AssumeEmailVerified && issuer == c.cfg.Issuer
	if (isGoogleIssuer(issuer) || (c.cfg.Kind == "google" && issuer == c.cfg.Issuer)) && !googleAuthoritative(claims, address) {
		return false
	}
	return (stated && isBool && b) || (!present && assume && !edovDenies(claims))
}

// setGroups sets id's groups from the groups claim, as Entra ID's object
// IDs or names where they are its, and refuses claims whose groups are
// elsewhere that the gateway does not read.
func (c *Client) setGroups(id *portcullis.Identity, claims map[string]any) error {
	issuer := id.Issuer
	if c.groupsElsewhere(claims) && (c.cfg.Kind != "entra" || issuer != c.cfg.Issuer) {
		// kind = "entra" reads them from Graph at login and refresh (a
		// bearer token is refused by its own check).
		return ErrGroupsElsewhere
	}
	v, _ := portcullis.LookupClaim(claims, c.cfg.GroupsClaim)
	id.Groups = stringArray(v)
	if c.entraTenantToken(issuer, claims) {
		id.Groups = c.entraObjectIDs(id.Groups)
	}
	if c.cfg.Kind == "entra" && issuer == c.cfg.Issuer {
		id.Groups = entraGroups(claims, id.Groups)
	}
	return nil
}

// checkHeaderClaims refuses an identity whose user, email,
// preferred_username or groups IdentityValue would refuse, whose
// provider sub (the assertion's sub_id) is a look-alike
// (checkIdentityText), or with a claim of Config.HeaderClaims HeaderValue
// would refuse.
func (c *Client) checkHeaderClaims(id *portcullis.Identity, claims map[string]any) error {
	for _, f := range []struct {
		name string
		v    any
	}{{"user_claim " + c.cfg.UserClaim, id.Subject}, {"email", id.Email},
		{"preferred_username", id.PreferredUsername}, {"groups", id.Groups}} {
		if err := checkIdentitySafe(f.name, f.v); err != nil {
			return err
		}
	}
	if err := checkIdentityText(id.ProviderSubject); err != nil {
		return fmt.Errorf("idp: claim sub cannot name the user: %w", err)
	}
	for _, path := range c.cfg.HeaderClaims {
		if v, ok := portcullis.LookupClaim(claims, path); ok {
			if err := checkHeaderSafe(path, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// edovDenies reports whether the claims carry Entra ID's xms_edov ("email
// domain owner verified") with any value but true: Microsoft's word that
// the address's domain was not verified, which assume_email_verified
// (meant for Entra, which omits email_verified) must not override. Entra's
// email is an attribute its tenant's admins, and for a guest another
// tenant's, may set to any address (the "nOAuth" weakness).
func edovDenies(claims map[string]any) bool {
	v, ok := claims["xms_edov"]
	if !ok {
		return false
	}
	b, isBool := v.(bool)
	return !isBool || !b
}

// googleAuthoritative reports whether Google answers for email: a Gmail
// address, or a Workspace account's (its ID token carries hd). A consumer
// Google account may carry any other address, which Google checked once,
// when the account was made: email_verified stays true after the address
// or its domain changed hands (a former employee's account, a lapsed
// domain), so such an address proves nothing today. It is treated as
// unverified: it matches no allow_emails or allow_email_domains, is not in
// the email header, and is not looked up in the directory.
// Service accounts' addresses (name@PROJECT.iam.gserviceaccount.com, as
// in the ID tokens Google issues to workloads) are Google's own as well.
// It applies to kind = "google" and to any configuration whose issuer is
// Google's, as the README's minimal one (kind "oidc").
func googleAuthoritative(claims map[string]any, email string) bool {
	if hd, _ := claims["hd"].(string); hd != "" {
		return true
	}
	// ASCII case only: strings.ToLower makes "gmaİl.com" (U+0130) gmail.com,
	// a domain whose IDNA form is another, anyone's.
	_, domain, _ := strings.Cut(ascii.ToLower(email), "@")
	return domain == "gmail.com" || domain == "googlemail.com" ||
		domain == "gserviceaccount.com" || strings.HasSuffix(domain, ".gserviceaccount.com")
}

// canonicalIssuer is iss as the configuration spells it when it is another
// spelling of the provider's issuer: Google's ID tokens name theirs
// https://accounts.google.com or accounts.google.com, and go-oidc accepts
// both for the configured one. Every rule that applies to the provider's
// own tokens (hosted_domain, assume_email_verified, Entra's groups) and
// the identity's issuer (sub_id, the session index) must see one issuer:
// compared as written, the short spelling skipped hosted_domain, so any
// Gmail account signed in. Any other iss is returned as it is.
func (c *Client) canonicalIssuer(iss string) string {
	if iss != c.cfg.Issuer && isGoogleIssuer(iss) && isGoogleIssuer(c.cfg.Issuer) {
		return c.cfg.Issuer
	}
	return iss
}

// isGoogleIssuer reports whether iss is Google's, in either spelling its
// ID tokens use.
func isGoogleIssuer(iss string) bool {
	return iss == GoogleIssuer || iss == "accounts.google.com"
}

// ErrNoUserClaim refuses an identity without the claim user_claim names
// (or with one that is no string or number): a configuration naming a
// claim the provider does not send (employee_id without its mapper, oid
// under a provider other than Entra ID) refuses every user with it.
var ErrNoUserClaim = errors.New("idp: the provider sent no user_claim")

// ErrGroupsElsewhere refuses an identity whose groups the token does not
// hold but says are elsewhere: a distributed groups claim (OpenID Connect
// Core 5.6.2, _claim_names), as Entra ID sends it past 200 groups, or
// Entra ID's hasgroups. Only kind = "entra" reads them (from Microsoft
// Graph, at login and refresh); anywhere else the identity would have no
// groups instead of the user's, and a user who can join groups could drop
// one the application denies on by joining enough others.
var ErrGroupsElsewhere = errors.New("idp: the token's groups are not in it (a distributed claim or hasgroups: too many groups to list), and this configuration cannot read them")

// groupsElsewhere reports whether claims lack groups_claim but say the
// user's groups exist elsewhere: _claim_names names the claim (or the
// top-level claim its path starts with), or, for the claim "groups",
// hasgroups is true.
func (c *Client) groupsElsewhere(claims map[string]any) bool {
	if _, ok := portcullis.LookupClaim(claims, c.cfg.GroupsClaim); ok {
		return false
	}
	if names, ok := claims["_claim_names"].(map[string]any); ok {
		top, _, _ := strings.Cut(c.cfg.GroupsClaim, ".")
		if _, ok := names[c.cfg.GroupsClaim]; ok {
			return true
		}
		if _, ok := names[top]; ok {
			return true
		}
	}
	hg, _ := claims["hasgroups"].(bool)
	return hg && c.cfg.GroupsClaim == "groups"
}

// checkIdentitySafe applies IdentityValue to the claim named name.
func checkIdentitySafe(name string, v any) error {
	if _, err := IdentityValue(v); err != nil {
		return fmt.Errorf("idp: claim %s cannot be forwarded in a header: %w", name, err)
	}
	return nil
}

// checkHeaderSafe applies HeaderValue to the claim named name.
func checkHeaderSafe(name string, v any) error {
	if _, err := HeaderValue(v); err != nil {
		return fmt.Errorf("idp: claim %s cannot be forwarded in a header: %w", name, err)
	}
	return nil
}

// subjectString formats a subject-like claim as HeaderValue does: strings
// as they are, numbers without exponent; "" for any other shape, and for a
// number beyond ±(2^53 - 1), which is not the one the provider sent
// (portcullis.ExactNumber): neighbouring users would be one.
func subjectString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if !portcullis.ExactNumber(x) {
			return ""
		}
		s, _ := scalarString(v)
		return s
	}
	return ""
}

// stringArray returns v as []string when it is a JSON array of strings, else
// nil: a groups claim of any other shape grants no group (docs/requests.md, rules).
func stringArray(v any) []string {
	arr, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(arr))
	for _, x := range arr {
		s, ok := x.(string)
		if !ok {
			return nil
		}
		out = append(out, s)
	}
	return out
}

// scopesOf reads granted scopes from a token's claims: scope (a
// space-delimited string, RFC 8693 §4.2), else, only when scope is absent,
// scp (an array of strings or a string, as Okta and Entra ID send it). A
// scope of another shape grants nothing: scp does not stand in for it.
func scopesOf(claims map[string]any) []string {
	if v, present := claims["scope"]; present {
		s, _ := v.(string)
		return splitScopes(s)
	}
	switch scp := claims["scp"].(type) {
	case string:
		return splitScopes(scp)
	case []any:
		return stringArray(scp)
	}
	return nil
}

// splitScopes splits a scope string on U+0020 only (RFC 6749 §3.3).
func splitScopes(s string) []string {
	var out []string
	for _, f := range strings.Split(s, " ") {
		if f != "" {
			out = append(out, f)
		}
	}
	return out
}

// mergeMissing copies into dst the keys of src that dst lacks, except
// email_verified when dst has an email (at emailClaim) that src does not
// hold: the verification is of src's address, not of dst's; and except a
// dotted key whose path dst already has nested: LookupClaim finds a whole
// key first, so src's "realm_access.roles" would replace dst's
// realm_access.roles for every claim setting and rule.
func mergeMissing(dst, src map[string]any, emailClaim string) {
	de, dHas := portcullis.LookupClaim(dst, emailClaim)
	se, _ := portcullis.LookupClaim(src, emailClaim)
	ds, _ := de.(string)
	ss, sIsString := se.(string)
	otherAddress := dHas && (!sIsString || ds != ss)
	for k, v := range src {
		if k == "email_verified" && otherAddress {
			continue
		}
		if _, ok := dst[k]; ok {
			continue
		}
		if strings.IndexByte(k, '.') >= 0 {
			if _, nested := portcullis.LookupClaim(dst, k); nested {
				continue
			}
		}
		dst[k] = v
	}
}
