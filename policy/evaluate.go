package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/ascii"
)

// rules are a route's conditions (docs/requests.md, rules), precomputed at Compile so that
// Evaluate does not allocate on the allow path.
type rules struct {
	scopes []string

	groups       map[string]struct{}
	groupsReason string
	noGroups     string // groupsReason for an identity with no groups at all

	emails    map[string]struct{} // lower-cased addresses
	domains   map[string]struct{} // lower-cased domains
	anyDomain bool                // allow_email_domains contains "*"

	claims []claimRule // sorted by path, for stable reasons
}

type claimRule struct {
	path, want, reason string
	absent             string  // the reason when the identity lacks the claim
	num                float64 // want as a number, when isNum
	isNum              bool    // want is the canonical form of num ("42", "1.5")
}

// Reasons for refusals; they name the failed condition, never a token.
const (
	reasonDeny          = "route denies all requests"
	reasonNoIdentity    = "authentication required"
	reasonNoEmail       = "no email address"
	reasonUnverified    = "email not verified"
	reasonNoVerified    = "email not verified (the provider sent no email_verified claim)"
	reasonNotCounted    = "email not verified (the gateway does not count the provider's email_verified for this address)"
	reasonNotBoolean    = "email not verified (the provider's email_verified is not the boolean true)"
	reasonBadEmail      = "email address is not valid"
	reasonEmailDenied   = "email not allowed"
	reasonDomainDenied  = "email domain not allowed"
	reasonMissingScope  = "missing scope "
	reasonMissingScopes = "missing scopes "
)

// compile checks the conditions of rc; on error it returns the offending key.
func (ru *rules) compile(rc RouteConfig) (string, error) {
	if err := ru.compileScopes(rc.RequireScopes); err != nil {
		return "require_scopes", err
	}
	if err := ru.compileGroups(rc.AllowGroups); err != nil {
		return "allow_groups", err
	}
	if err := ru.compileEmails(rc.AllowEmails); err != nil {
		return "allow_emails", err
	}
	if err := ru.compileDomains(rc.AllowEmailDomains); err != nil {
		return "allow_email_domains", err
	}
	if err := ru.compileClaims(rc.RequireClaims); err != nil {
		return "require_claims", err
	}
	return "", nil
}

// compileScopes checks and keeps require_scopes: each a scope token.
func (ru *rules) compileScopes(scopes []string) error {
	for _, s := range scopes {
		if s == "" || strings.ContainsAny(s, " \t\r\n\"\\") {
			return fmt.Errorf("%q is not a scope token (RFC 6749 §3.3)", s)
		}
	}
	ru.scopes = scopes
	return nil
}

// compileGroups checks and keeps allow_groups, with the reason of a
// refusal by them.
func (ru *rules) compileGroups(groups []string) error {
	if len(groups) == 0 {
		return nil
	}
	ru.groups = make(map[string]struct{}, len(groups))
	for _, g := range groups {
		if g == "" {
			return errors.New("empty group name")
		}
		ru.groups[g] = struct{}{}
	}
	ru.groupsReason = "not in any of groups: " + strings.Join(groups, ", ")
	ru.noGroups = ru.groupsReason + " (the identity has no groups at all)"
	return nil
}

// compileEmails checks and keeps allow_emails, case-folded (foldEmail).
func (ru *rules) compileEmails(emails []string) error {
	if len(emails) == 0 {
		return nil
	}
	ru.emails = make(map[string]struct{}, len(emails))
	for _, e := range emails {
		_, domain, ok := splitEmail(e)
		if !ok {
			return fmt.Errorf("%q is not an email address", e)
		}
		if strings.Contains(e, "*") {
			// "*@example.com" read as a literal address matched no one.
			return fmt.Errorf(`%q: addresses match exactly; for every address of a domain write allow_email_domains = [%q]`, e, domain)
		}
		if err := checkReadable(e); err != nil {
			return err
		}
		ru.emails[foldEmail(e)] = struct{}{}
	}
	return nil
}

// compileDomains checks and keeps allow_email_domains, case-folded; "*"
// allows any domain.
func (ru *rules) compileDomains(domains []string) error {
	if len(domains) == 0 {
		return nil
	}
	ru.domains = make(map[string]struct{}, len(domains))
	for _, d := range domains {
		if d == "*" {
			ru.anyDomain = true
			continue
		}
		if err := checkEmailDomain(d); err != nil {
			return err
		}
		if err := checkReadable(d); err != nil {
			return err
		}
		ru.domains[foldEmail(d)] = struct{}{}
	}
	return nil
}

// compileClaims checks and keeps require_claims, sorted by path (so that of
// several bad paths the first is named, every time); a value that spells a
// number canonically is compared as that number too.
func (ru *rules) compileClaims(claims map[string]string) error {
	for _, path := range slices.Sorted(maps.Keys(claims)) {
		want := claims[path]
		if path == "" || strings.HasPrefix(path, ".") || strings.HasSuffix(path, ".") {
			return fmt.Errorf("%q is not a claim path", path)
		}
		c := claimRule{path: path, want: want, reason: fmt.Sprintf("claim %s is not %s", path, want),
			absent: fmt.Sprintf("claim %s is missing (the identity has no such claim)", path)}
		if f, err := strconv.ParseFloat(want, 64); err == nil && strconv.FormatFloat(f, 'f', -1, 64) == want {
			c.num, c.isNum = f, true
		}
		ru.claims = append(ru.claims, c)
	}
	return nil
}

// checkReadable refuses an allow_emails or allow_email_domains entry that
// an application could read as another (ascii.Misreadable): no identity
// holds such an address (idp refuses it), and lower-casing would make the
// Kelvin sign in "\u212aate@example.com" the entry for kate@example.com,
// another address than the one written.
func checkReadable(s string) error {
	if why := ascii.Misreadable(s); why != "" {
		return fmt.Errorf("%q never matches: %s, and a sign-in with such an address is refused", s, why)
	}
	return nil
}

func checkEmailDomain(d string) error {
	switch {
	case d == "":
		return errors.New("empty domain")
	case strings.Contains(d, "@"):
		return fmt.Errorf("%q: give the domain without the local part", d)
	case strings.Contains(d, "*"):
		return fmt.Errorf(`%q: domains match exactly; "*" alone means any verified email`, d)
	case strings.HasPrefix(d, ".") || strings.HasSuffix(d, "."):
		return fmt.Errorf("%q: a domain neither starts nor ends with a dot", d)
	case strings.ContainsAny(d, " \t\r\n,;"):
		return fmt.Errorf("%q is not a domain", d)
	}
	return nil
}

// Evaluate decides whether id satisfies the route; id is nil when the
// request carries no identity. The order is: deny, public, no identity, the
// conditions allow_groups, allow_emails, allow_email_domains and
// require_claims (all required together; OutcomeForbidden naming the first
// that fails), then require_scopes (OutcomeInsufficientScope with the
// missing scopes, for RFC 6750 §3.1 and step-up), else OutcomeAllow.
//
// Evaluate takes id as the idp package built it: id.Groups is nil when the
// groups claim had the wrong shape, and id.Scopes are already split on
// spaces; Evaluate splits nothing. It allocates only to list missing scopes.
func (r *Route) Evaluate(id *portcullis.Identity) portcullis.Decision {
	switch {
	case r.Deny:
		return portcullis.Decision{Outcome: portcullis.OutcomeForbidden, Reason: reasonDeny}
	case r.Public:
		return portcullis.Decision{Outcome: portcullis.OutcomePublic}
	case id == nil:
		return portcullis.Decision{Outcome: portcullis.OutcomeUnauthenticated, Reason: reasonNoIdentity}
	}
	if reason := r.rules.conditions(id); reason != "" {
		return portcullis.Decision{Outcome: portcullis.OutcomeForbidden, Reason: reason}
	}
	if missing := missingScopes(r.rules.scopes, id.Scopes); len(missing) > 0 {
		reason := reasonMissingScope + missing[0]
		if len(missing) > 1 {
			reason = reasonMissingScopes + strings.Join(missing, " ")
		}
		return portcullis.Decision{Outcome: portcullis.OutcomeInsufficientScope, Reason: reason, MissingScopes: missing}
	}
	return portcullis.Decision{Outcome: portcullis.OutcomeAllow}
}

// conditions returns why id fails a condition other than scopes, or "".
func (ru *rules) conditions(id *portcullis.Identity) string {
	if ru.groups != nil && !ru.inGroup(id.Groups) {
		if len(id.Groups) == 0 {
			return ru.noGroups
		}
		return ru.groupsReason
	}
	if ru.emails != nil || ru.domains != nil || ru.anyDomain {
		if reason := ru.checkEmail(id); reason != "" {
			return reason
		}
	}
	for i := range ru.claims {
		c := &ru.claims[i]
		v, ok := portcullis.LookupClaim(id.Claims, c.path)
		if !ok {
			return c.absent
		}
		if !c.has(v) {
			return c.reason
		}
	}
	return ""
}

func (ru *rules) inGroup(groups []string) bool {
	for _, g := range groups {
		if _, ok := ru.groups[g]; ok {
			return true
		}
	}
	return false
}

// checkEmail applies allow_emails and allow_email_domains. Only a verified
// address with exactly one "@" counts; both parts compare case-insensitively
// and the domain exactly, so "a@example.com." and "a@evil-example.com" never
// pass "example.com".
func (ru *rules) checkEmail(id *portcullis.Identity) string {
	switch {
	case id.Email == "":
		return reasonNoEmail
	case !id.EmailVerified:
		return unverifiedReason(id.Claims)
	}
	local, _, ok := splitEmail(id.Email)
	var buf [256]byte
	lower, fits := lowerASCII(&buf, id.Email)
	if !ok || !fits {
		return reasonBadEmail
	}
	if !isASCII(id.Email) {
		// Rare: folded beyond ASCII (foldEmail), at a cost. Folding
		// never makes or removes an "@" (ASCII stays ASCII, nothing else
		// becomes ASCII), but may change the local part's length.
		folded := foldEmail(id.Email)
		lower, local = []byte(folded), folded[:strings.IndexByte(folded, '@')]
	}
	domain := lower[len(local)+1:]
	if ru.emails != nil {
		if _, ok := ru.emails[string(lower)]; !ok {
			return reasonEmailDenied
		}
	}
	if ru.domains != nil || ru.anyDomain {
		if _, ok := ru.domains[string(domain)]; !ok && !ru.anyDomain {
			return reasonDomainDenied
		}
	}
	return ""
}

// unverifiedReason says why an address is not verified: the provider said
// it is not (email_verified false, or, without it, Entra ID's xms_edov
// anything but true), it sent email_verified of another type (a string
// "true", as some providers' userinfo does), it sent no email_verified at all
// (Entra ID, whose xms_edov true verifies only with
// assume_email_verified; a plain OAuth 2.0 userinfo), or it said true for
// an address the gateway does not take its word for (a consumer Google
// account's outside Gmail).
func unverifiedReason(claims map[string]any) string {
	ev, said := claims["email_verified"]
	if said {
		b, isBool := ev.(bool)
		switch {
		case !isBool:
			return reasonNotBoolean
		case b:
			return reasonNotCounted
		}
		return reasonUnverified
	}
	if edov, ok := claims["xms_edov"]; ok && edov != true {
		return reasonUnverified
	}
	return reasonNoVerified
}

// splitEmail splits an address with exactly one "@" and both sides non-empty.
func splitEmail(addr string) (local, domain string, ok bool) {
	at := strings.IndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 || strings.IndexByte(addr[at+1:], '@') >= 0 {
		return "", "", false
	}
	return addr[:at], addr[at+1:], true
}

// has reports whether claim value v is c.want: the same string, a bool or
// number whose canonical form is c.want ("true", "42"), or an array holding
// such an element (docs/requests.md, rules: "contains it when the claim is an array").
func (c *claimRule) has(v any) bool {
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			if c.is(e) {
				return true
			}
		}
		return false
	case []string:
		for _, e := range x {
			if e == c.want {
				return true
			}
		}
		return false
	}
	return c.is(v)
}

// is compares one claim value with c.want. A number meets a numeric want
// only when it is exact (portcullis.ExactNumber): beyond 2^53 - 1 the
// decoded number may be a neighbour of the token's.
func (c *claimRule) is(v any) bool {
	switch x := v.(type) {
	case string:
		return x == c.want
	case bool:
		return x && c.want == "true" || !x && c.want == "false"
	case float64:
		return c.isNum && x == c.num && portcullis.ExactNumber(x)
	case int:
		return c.isNum && float64(x) == c.num && portcullis.ExactNumber(c.num)
	case int64:
		return c.isNum && float64(x) == c.num && portcullis.ExactNumber(c.num)
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		return err == nil && c.isNum && f == c.num && portcullis.ExactNumber(f)
	}
	return false
}

// missingScopes returns the required scopes not granted, compared whole and
// case-sensitively; nil when none is missing.
func missingScopes(required, granted []string) []string {
	var missing []string
	for _, s := range required {
		found := false
		for _, g := range granted {
			if g == s {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, s)
		}
	}
	return missing
}
