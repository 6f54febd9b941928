package idp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// checkClaimNames refuses a verified JWT whose claim names mean one thing
// to the gateway and another to a reader of the token: a name that is
// another claim's under case folding (foldedClaim), or a member that an
// object of the claims set names twice (duplicateMember).
func checkClaimNames(raw string, claims map[string]any) error {
	if k := foldedClaim(claims); k != "" {
		return fmt.Errorf("idp: claim %q is another claim's name in other case", truncateForLog(k, 64))
	}
	_, rest, _ := strings.Cut(raw, ".")
	seg, _, _ := strings.Cut(rest, ".")
	payload, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return fmt.Errorf("idp: claims: %v", err)
	}
	k, err := duplicateMember(json.NewDecoder(bytes.NewReader(payload)))
	switch {
	case err != nil:
		return fmt.Errorf("idp: claims: %v", err)
	case k != "":
		return fmt.Errorf("idp: claim member %q is named twice in one object", truncateForLog(k, 64))
	}
	return nil
}

// duplicateMember reads one JSON value from dec and returns a member name
// that one of its objects, at any depth, names twice (as decoded: "s\u0075b"
// is "sub"), "" when none does. Go's encoding/json keeps the last of them;
// other parsers keep the first or fail (RFC 7519 §4 allows either a
// refusal or the last), so an application reading a forwarded token could
// see another sub, aud or email than the one the gateway decided on.
func duplicateMember(dec *json.Decoder) (string, error) {
	t, err := dec.Token()
	if err != nil {
		return "", err
	}
	d, ok := t.(json.Delim)
	if !ok {
		return "", nil
	}
	var seen map[string]struct{}
	for dec.More() {
		if d == '{' {
			kt, err := dec.Token()
			if err != nil {
				return "", err
			}
			k, _ := kt.(string)
			if _, dup := seen[k]; dup {
				return k, nil
			}
			if seen == nil {
				seen = map[string]struct{}{}
			}
			seen[k] = struct{}{}
		}
		if k, err := duplicateMember(dec); k != "" || err != nil {
			return k, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}' or ']'
		return "", errors.Join(errors.New("unterminated JSON"), err)
	}
	return "", nil
}
