package idp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// maxTokenLen bounds every token before any parsing (a 1 MB token is
// refused at once).
const maxTokenLen = 16 << 10

// checkTokenChars refuses tokens that are too long or are not an RFC 6750
// §2.1 b64token (ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/", then
// "=" padding only at the end), before any parsing or network call. This
// refuses whitespace inside, which go-jose would strip silently (docs/requests.md).
func checkTokenChars(raw string) error {
	if raw == "" {
		return fmt.Errorf("%w: empty token", ErrInvalidToken)
	}
	if len(raw) > maxTokenLen {
		return fmt.Errorf("%w: token of %d bytes exceeds %d", ErrInvalidToken, len(raw), maxTokenLen)
	}
	end := len(raw)
	for end > 0 && raw[end-1] == '=' {
		end--
	}
	for i := 0; i < end; i++ {
		if !b64tokenChar[raw[i]] {
			return fmt.Errorf("%w: character 0x%02x at offset %d is not allowed in a token", ErrInvalidToken, raw[i], i)
		}
	}
	return nil
}

// b64tokenChar marks the bytes of RFC 6750 §2.1 b64token (before padding).
var b64tokenChar = func() (t [256]bool) {
	for _, r := range "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~+/" {
		t[r] = true
	}
	return t
}()

// looksLikeJWT reports whether raw has the three dot-separated parts of a
// JWS compact serialisation (RFC 7515 §7.1).
func looksLikeJWT(raw string) bool { return strings.Count(raw, ".") == 2 }

// canonicalSegments reports whether every segment of the compact JWS raw is
// base64url in its one spelling: unpadded, and with the unused low bits of
// its last character zero. Decoders ignore those bits, so one token would
// otherwise have up to 4,096 spellings, each its own bearer-cache entry and
// signature check.
func canonicalSegments(raw string) bool {
	strict := base64.RawURLEncoding.Strict()
	for seg := range strings.SplitSeq(raw, ".") {
		tail := len(seg) % 4
		if tail == 1 || strings.IndexByte(seg, '=') >= 0 {
			return false
		}
		// The last, partial quantum alone: Strict refuses its unused bits.
		if _, err := strict.DecodeString(seg[len(seg)-tail:]); err != nil {
			return false
		}
	}
	return true
}

// parseUnverified parses a compact JWS without verifying it, for the members that
// choose how to verify it (typ, kid) and the unverified iss that picks the
// trusted issuer. Verification happens afterwards, with go-oidc.
func parseUnverified(raw string) (typ string, iss string, err error) {
	if !canonicalSegments(raw) {
		return "", "", fmt.Errorf("%w: a segment is not canonical base64url", ErrInvalidToken)
	}
	jws, err := jose.ParseSignedCompact(raw, asymmetricAlgs)
	if err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	if len(jws.Signatures) != 1 {
		return "", "", fmt.Errorf("%w: want one signature", ErrInvalidToken)
	}
	if typ, err = typHeader(jws.Signatures[0].Protected); err != nil {
		return "", "", fmt.Errorf("%w: %v", ErrInvalidToken, err)
	}
	var c struct {
		Iss any `json:"iss"`
	}
	if err := json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c); err != nil {
		return "", "", fmt.Errorf("%w: claims are not a JSON object", ErrInvalidToken)
	}
	iss, _ = c.Iss.(string)
	return typ, iss, nil
}

// typHeader reads a JWS's typ header (RFC 7515 §4.1.9), "" when absent. One
// that is not a string cannot name the kind the token is, so the token is
// refused, whichever kind it is presented as (every JWT the gateway
// verifies passes here: keySet.VerifySignature).
func typHeader(h jose.Header) (string, error) {
	t, ok := h.ExtraHeaders[jose.HeaderType]
	if !ok {
		return "", nil
	}
	s, isString := t.(string)
	if !isString {
		return "", errors.New("idp: typ header is not a string")
	}
	return s, nil
}

// kindClaims are the claims in which a token states its kind (declaredKind).
var kindClaims = [...]string{"token_type", "typ", "token_use"}

// mistypedKind names the first claim stating a token's kind that is not a
// JSON string, "" when there is none: such a token cannot be the kind it
// says, an access token no more than an ID or logout token, so it is
// refused as one whose time claims are not numbers is.
func mistypedKind(claims map[string]any) string {
	for _, k := range kindClaims {
		if v, ok := claims[k]; ok {
			if _, isString := v.(string); !isString {
				return k
			}
		}
	}
	return ""
}

// oidcClaims are the claims go-oidc reads into its struct, which
// encoding/json matches case-insensitively (with Unicode's simple folding,
// so "iſs" is "iss" too).
var oidcClaims = [...]string{"iss", "sub", "aud", "exp", "iat", "nbf", "nonce", "at_hash", "_claim_names", "_claim_sources"}

// foldedClaim returns a claim name that equals one go-oidc reads only under
// case folding, "" when there is none. Claim names are case-sensitive
// (RFC 7519 §10.1.1): go-oidc would check such a claim's value as the iss
// or aud the token lacks, while every other check reads the claims as
// written, so a token with "Iss" alone passed the issuer check.
func foldedClaim(claims map[string]any) string {
	for k := range claims {
		for _, name := range oidcClaims {
			if k != name && strings.EqualFold(k, name) {
				return k
			}
		}
	}
	return ""
}

// typAllowed compares a typ header case-insensitively with the allowed
// values; "" in allowed admits an absent typ. RFC 7515 §4.1.9 allows the
// "application/" prefix to be left out.
func typAllowed(typ string, allowed ...string) bool {
	t := strings.ToLower(typ)
	t = strings.TrimPrefix(t, "application/")
	return slices.Contains(allowed, t)
}

// verifiedJWT is a token whose signature, issuer and algorithm go-oidc
// checked, with its claims and time claims checked here.
type verifiedJWT struct {
	token  *oidc.IDToken
	claims map[string]any
	exp    time.Time // zero when absent
	iat    time.Time // zero when absent
}

// timeRules say which time claims a kind of token needs.
type timeRules struct {
	needExp, needIat bool
	maxAge           time.Duration // iat not older than this (logout tokens); 0 = any
}

// verifyJWT verifies raw with v and checks its time claims: they must be
// JSON numbers (go-oidc also takes numeric strings); exp, nbf and iat get
// 30 s leeway (RFC 7519 §4.1.4-6).
func (c *Client) verifyJWT(ctx context.Context, v *oidc.IDTokenVerifier, raw string, r timeRules) (*verifiedJWT, error) {
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		return nil, err
	}
	out := &verifiedJWT{token: tok}
	if err := tok.Claims(&out.claims); err != nil {
		return nil, fmt.Errorf("idp: claims: %v", err)
	}
	if k := mistypedKind(out.claims); k != "" {
		return nil, fmt.Errorf("idp: claim %s is not a string", k)
	}
	if err := checkClaimNames(raw, out.claims); err != nil {
		return nil, err
	}
	now := c.now()
	exp, hasExp, err := numericDate(out.claims, "exp")
	if err != nil {
		return nil, err
	}
	iat, hasIat, err := numericDate(out.claims, "iat")
	if err != nil {
		return nil, err
	}
	nbf, hasNbf, err := numericDate(out.claims, "nbf")
	if err != nil {
		return nil, err
	}
	switch {
	case r.needExp && !hasExp:
		return nil, fmt.Errorf("idp: token has no exp")
	case r.needIat && !hasIat:
		return nil, fmt.Errorf("idp: token has no iat")
	case hasExp && !now.Before(exp.Add(leeway)):
		return nil, fmt.Errorf("idp: token expired at %s%s", exp.UTC().Format(time.RFC3339), gatewayClock(now))
	case hasNbf && now.Add(leeway).Before(nbf):
		return nil, fmt.Errorf("idp: token not valid before %s%s", nbf.UTC().Format(time.RFC3339), clockSkew(now))
	case hasIat && now.Add(leeway).Before(iat):
		return nil, fmt.Errorf("idp: token issued in the future (%s)%s", iat.UTC().Format(time.RFC3339), clockSkew(now))
	case r.maxAge > 0 && now.Sub(iat) > r.maxAge+leeway:
		return nil, fmt.Errorf("idp: token issued at %s is too old%s", iat.UTC().Format(time.RFC3339), gatewayClock(now))
	}
	out.exp, out.iat = exp, iat
	return out, nil
}

// gatewayClock is the gateway's time as a refusal of a token's dates
// shows it beside them: a gateway whose clock is off (no NTP, a paused
// VM) refuses every token, and only the two times side by side show it.
func gatewayClock(now time.Time) string {
	return " (the gateway's clock says " + now.UTC().Format(time.RFC3339) + ")"
}

// clockSkew is gatewayClock for a token dated after the gateway's now,
// which the provider has just made: the provider's and the gateway's
// clocks differ by more than the leeway.
func clockSkew(now time.Time) string {
	return gatewayClock(now) + ": are the gateway's and the provider's clocks synchronised (NTP)?"
}

// maxNumericDate is 9999-12-31T23:59:59Z in seconds, the largest date
// numericDate reads (and, negated, the smallest).
const maxNumericDate = 253402300799

// numericDate reads a NumericDate claim (RFC 7519 §2): a JSON number, never
// a string, and within ±maxNumericDate: int64 of a larger float is left to
// the platform (amd64 gives the smallest int64) and time.Unix wraps near its
// ends, so nbf 1e19 read as long ago and exp 9.2e18 as valid for ever.
func numericDate(claims map[string]any, name string) (time.Time, bool, error) {
	v, ok := claims[name]
	if !ok {
		return time.Time{}, false, nil
	}
	f, isNum := v.(float64)
	if !isNum {
		return time.Time{}, false, fmt.Errorf("idp: claim %s is not a number", name)
	}
	if f > maxNumericDate || f < -maxNumericDate {
		return time.Time{}, false, fmt.Errorf("idp: claim %s is not a date before the year 10000", name)
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true, nil
}

// audiences reads aud as a string or an array of strings (RFC 7519 §4.1.3);
// false when aud is present in another shape (a number, null, an array
// with a member that is no string), which names no audience the token
// can be held to: its caller refuses the token rather than reading it as
// one without aud, or with the string members alone.
func audiences(claims map[string]any) ([]string, bool) {
	v, present := claims["aud"]
	switch a := v.(type) {
	case string:
		return []string{a}, true
	case []any:
		out := make([]string, 0, len(a))
		for _, x := range a {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	}
	return nil, !present
}

// audienceMatches reports whether one of got is one of want.
func audienceMatches(got, want []string) bool {
	for _, g := range got {
		if slices.Contains(want, g) {
			return true
		}
	}
	return false
}
