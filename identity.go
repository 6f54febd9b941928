// Package portcullis holds the domain types that every part of the gateway
// shares: who is asking (Identity) and what the route table decided about it
// (Decision). It imports no other package of the project.
package portcullis

import (
	"strings"
	"time"
)

// Identity is who made a request, as established by a browser session or a
// bearer token. Its zero value is "nobody".
type Identity struct {
	Subject           string   // the user_claim (default "sub")
	Issuer            string   // the token issuer; "" for plain OAuth 2.0 providers
	ProviderSubject   string   // the provider's sub whatever user_claim says (else the user_claim value); with Issuer, the user at the provider
	Email             string   // the email_claim, as given by the provider
	EmailVerified     bool     // email_verified true, or absent with assume_email_verified
	PreferredUsername string   // preferred_username, or login for GitHub
	Groups            []string // the groups_claim when it is an array of strings, else nil
	Scopes            []string // granted scopes: token response scope, or the bearer's scope/scp
	SessionID         string   // the provider's sid claim, for back-channel logout
	// Claims are all claims of the ID token (completed from userinfo) or of the
	// bearer token, for require_claims and claim headers.
	Claims map[string]any
	// UserinfoClaims names the claims the provider's userinfo stated at the
	// last read (sign-in or refresh), but those only the ID token speaks
	// for (sub, sid, acr, ...): a refresh that reads userinfo again takes
	// the absence of one of them as the provider's word that it is gone (a
	// groups claim left out when empty), not as a gap the sign-in's value
	// fills. nil when not known (no userinfo, or a session older than it);
	// empty when userinfo stated none, which omitzero keeps apart from nil
	// in a stored session (omitempty wrote both as nothing).
	UserinfoClaims []string `json:",omitzero"`
	// Expiry is when this identity stops being valid: for a bearer token, when
	// the gateway stops accepting it (a JWT's exp plus the 30 s leeway, an
	// introspected token's exp). Zero means unknown.
	Expiry time.Time
}

// Outcome is the kind of answer a route gives a request.
type Outcome uint8

// The outcomes of evaluating a route. The zero value is OutcomeNoRoute so that
// a Decision nobody filled in refuses.
const (
	OutcomeNoRoute           Outcome = iota // no route matches: refused
	OutcomePublic                           // public route: forwarded without identity
	OutcomeAllow                            // identity satisfies the route
	OutcomeUnauthenticated                  // the route needs an identity and there is none
	OutcomeInsufficientScope                // the identity lacks required scopes
	OutcomeForbidden                        // the identity fails another condition, or deny = true
)

// String names the outcome as it appears in logs and metric labels.
func (o Outcome) String() string {
	switch o {
	case OutcomePublic:
		return "public"
	case OutcomeAllow:
		return "allowed"
	case OutcomeUnauthenticated:
		return "unauthenticated"
	case OutcomeInsufficientScope:
		return "insufficient_scope"
	case OutcomeForbidden:
		return "denied"
	default:
		return "no_route"
	}
}

// Decision is what the route table says about one request.
type Decision struct {
	Outcome Outcome
	// Reason says in a few words why a request was refused
	// ("missing scope dashboards:write", "not in any of groups admins").
	// It never contains a token.
	Reason string
	// MissingScopes lists the required scopes the identity lacks, for
	// OutcomeInsufficientScope (RFC 6750 §3.1 scope attribute, step-up).
	MissingScopes []string
}

// Claim looks up a dotted claim path ("realm_access.roles") in id.Claims.
// A key that itself contains dots is found when it exists whole
// ("https://example.com/groups").
func (id *Identity) Claim(path string) (any, bool) {
	return LookupClaim(id.Claims, path)
}

// maxExactInteger is 2^53 - 1, the largest integer below which a float64
// holds every integer exactly (JavaScript's Number.MAX_SAFE_INTEGER).
const maxExactInteger = 1<<53 - 1

// ExactNumber reports whether f, a JSON number of a claim decoded as
// float64, is the number the token carried: within ±(2^53 - 1). Beyond,
// neighbouring integers decode as one (9007199254740993 as
// 9007199254740992; near 1e18, 128 of them), so such a number can neither
// name a user nor meet a rule.
func ExactNumber(f float64) bool { return f >= -maxExactInteger && f <= maxExactInteger }

// LookupClaim looks up a dotted claim path in a claims set.
func LookupClaim(claims map[string]any, path string) (any, bool) {
	if v, ok := claims[path]; ok {
		return v, true
	}
	cur := claims
	for {
		i := strings.IndexByte(path, '.')
		if i < 0 {
			v, ok := cur[path]
			return v, ok
		}
		next, ok := cur[path[:i]].(map[string]any)
		if !ok {
			return nil, false
		}
		cur, path = next, path[i+1:]
	}
}
