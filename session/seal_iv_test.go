package session

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// TestSealingTwiceRepeatsNoKeystream: mod_auth_openidc's cookie sessions
// were readable where a cipher's IV repeated, since two values sealed under
// one key and one IV give away the XOR of their plaintexts. Here the same
// session, and the same login state, sealed twice by one store in the same
// second, carry two different IVs and ciphertexts whose first 8 bytes
// differ, so no two cookies share a keystream.
func TestSealingTwiceRepeatsNoKeystream(t *testing.T) {
	clock := newTestClock()
	cfg := testCookieConfig(t, clock)
	store := newTestCookieStore(t, cfg)
	s := testSession(t, clock.Now(), 2, 800)
	states := newTestStateCookies(t, cfg)
	for what, seal := range map[string]func() *http.Cookie{
		"session cookie":     func() *http.Cookie { return saveCookies(t, store, nil, s)[0] },
		"login-state cookie": func() *http.Cookie { return issue(t, states, nil, "state-1")[0] },
	} {
		a, b := seal(), seal()
		if a.Name != b.Name {
			t.Fatalf("%s: names %q and %q, want one name", what, a.Name, b.Name)
		}
		ivA, ctA := sealedParts(t, a.Value)
		ivB, ctB := sealedParts(t, b.Value)
		if bytes.Equal(ivA, ivB) {
			t.Errorf("%s: sealed twice under the IV %x", what, ivA)
		}
		if len(ctA) < 8 || len(ctA) != len(ctB) || bytes.Equal(ctA[:8], ctB[:8]) {
			t.Errorf("%s: ciphertexts of %d and %d bytes begin alike", what, len(ctA), len(ctB))
		}
	}
}

// sealedParts returns the IV and ciphertext of a sealed value: the base64
// of "date|base64(IV ciphertext)|mac" (gorilla/securecookie, AES-256-CTR).
func sealedParts(t *testing.T, value string) (iv, ct []byte) {
	t.Helper()
	outer, err := base64.URLEncoding.DecodeString(value)
	if err != nil {
		t.Fatalf("sealed value is not base64: %v", err)
	}
	parts := strings.SplitN(string(outer), "|", 3) // the MAC is binary
	if len(parts) != 3 {
		t.Fatalf("sealed value has %d parts, want date|value|mac", len(parts))
	}
	inner, err := base64.URLEncoding.DecodeString(parts[1])
	if err != nil || len(inner) <= 16 {
		t.Fatalf("sealed value's value: %d bytes, %v", len(inner), err)
	}
	return inner[:16], inner[16:]
}
