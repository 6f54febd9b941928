package idp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/portcullis/portcullis"
)

// identity turns a claims set into an Identity: the one mapping used for ID
// tokens, userinfo, GitHub and bearer tokens. A claim that would put a
// control character into an identity header is an error here, so that the
// login fails cleanly instead of the upstream request failing later.
func (c *Client) identity(claims map[string]any, issuer string) (*portcullis.Identity, error) {
	id := &portcullis.Identity{Issuer: issuer, Claims: claims}
	v, _ := portcullis.LookupClaim(claims, c.cfg.UserClaim)
	id.Subject = claimString(v)
	if id.Subject == "" {
		return nil, fmt.Errorf("idp: claim %q (user_claim) is missing or not a string or number", c.cfg.UserClaim)
	}
	v, _ = portcullis.LookupClaim(claims, c.cfg.EmailClaim)
	id.Email, _ = v.(string)
	ev, present := claims["email_verified"]
	b, isBool := ev.(bool)
	id.EmailVerified = (isBool && b) || (!present && c.cfg.AssumeEmailVerified)
	id.PreferredUsername, _ = claims["preferred_username"].(string)
	v, _ = portcullis.LookupClaim(claims, c.cfg.GroupsClaim)
	id.Groups = stringArray(v)
	id.SessionID, _ = claims["sid"].(string)
	if err := checkHeaderSafe("user_claim "+c.cfg.UserClaim, id.Subject); err != nil {
		return nil, err
	}
	if err := checkHeaderSafe("email", id.Email); err != nil {
		return nil, err
	}
	if err := checkHeaderSafe("preferred_username", id.PreferredUsername); err != nil {
		return nil, err
	}
	for _, g := range id.Groups {
		if err := checkHeaderSafe("groups", g); err != nil {
			return nil, err
		}
	}
	return id, nil
}

// claimString formats a subject-like claim: strings as they are, numbers
// without exponent (GitHub's numeric id 12345678, not 1.2345678e+07).
func claimString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

// stringArray returns v as []string when it is a JSON array of strings, else
// nil: a groups claim of any other shape grants no group (SPEC §2).
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

// checkHeaderSafe refuses values with control characters (< 0x20 or 0x7F),
// which cannot be sent in an HTTP header (RFC 9110 §5.5).
func checkHeaderSafe(name, v string) error {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 || b == 0x7f {
			return fmt.Errorf("idp: claim %s contains a control character (0x%02x) and cannot be forwarded", name, b)
		}
	}
	return nil
}

// scopesOf reads granted scopes from a token's claims: scope (a
// space-delimited string, RFC 8693 §4.2), else scp (an array of strings or a
// string, as Okta and Entra ID send it).
func scopesOf(claims map[string]any) []string {
	if s, ok := claims["scope"].(string); ok {
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

// mergeMissing copies into dst the keys of src that dst lacks.
func mergeMissing(dst, src map[string]any) {
	for k, v := range src {
		if _, ok := dst[k]; !ok {
			dst[k] = v
		}
	}
}
