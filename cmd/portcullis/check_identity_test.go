package main

import "testing"

// TestCheckRequestRefusesAnIdentityNoSignInBrings: serve refuses a sign-in
// (502) or a bearer token (401) whose user, email or a group an
// application would read as another value (a look-alike such as the
// Kelvin sign or the sharp s, text not in NFC) or that a header cannot
// carry (a control character, a comma inside a group). check --request
// called such an identity allowed (exit 0); it now gives serve's verdict,
// refused (exit 3), and says why.
func TestCheckRequestRefusesAnIdentityNoSignInBrings(t *testing.T) {
	path := writeConfig(t, "aliases.toml", checkAliases)
	const req = "GET https://dash.example.com/administrator"
	refused := []string{"decision: refused: serve refuses this identity"}
	cases := []requestCase{
		{"plain", req, []string{"--identity", "sub=bob", "--identity", "groups=staff"}, 0, []string{"decision: allowed"}},
		{"composed accents", req, []string{"--identity", "sub=José", "--identity", "email=müller@example.com"}, 0,
			[]string{"decision: allowed"}},
		{"Kelvin-sign user", req, []string{"--identity", "sub=\u212aate"}, 3, refused},
		{"sharp-s email", req, []string{"--identity", "sub=u", "--identity", "email=bo\u00df@example.com"}, 3, refused},
		{"fullwidth group", req, []string{"--identity", "sub=u", "--identity", "groups=staff,ａｄｍｉｎｓ"}, 3, refused},
		{"NFD user", req, []string{"--identity", "sub=jose\u0301"}, 3, refused},
		{"control character", req, []string{"--identity", "sub=bob\x01"}, 3, refused},
	}
	runRequestCases(t, path, cases)
}
