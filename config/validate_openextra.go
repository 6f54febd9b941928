package config

import "slices"

// claimsBindNothingFor reports whether require_claims rc admit every token
// extra issuer x signs for its audiences: each names only x's iss or one
// of x's own audiences, which all its tokens carry (to the rules an extra
// issuer's aud holds its own audiences alone). Such a route is as open to
// x as one with no require_claims: any GitHub repository's workflow token
// for "portcullis" meets { aud = "portcullis" }.
func claimsBindNothingFor(rc map[string]string, x extraIssuerSection) bool {
	for k, v := range rc {
		if !(k == "iss" && v == x.Issuer) && !(k == "aud" && slices.Contains(x.Audiences, v)) {
			return false
		}
	}
	return true
}
