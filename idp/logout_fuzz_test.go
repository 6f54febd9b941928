package idp

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/portcullis/portcullis/internal/oidctest"
)

// FuzzLogoutToken: a back-channel logout token logs someone out only when
// the provider signed it and its claims are what Back-Channel Logout 1.0
// §2.4 and §2.6 require. Whatever the fuzzer writes as a token is refused
// unless it verifies against the provider's key (checked apart, with
// go-jose); claims it writes and the provider signs are accepted only with
// the provider as iss, the client in aud and no other audience, the
// back-channel event, no nonce,
// a jti, sub or sid, and an iat in the window, and the sub and sid returned
// are the token's; the same claims signed by another key under the
// provider's kid, unsigned (alg none) or with HS256 keyed by the public
// key are refused.
func FuzzLogoutToken(f *testing.F) {
	p, c, clk := setup(f, oidctest.Options{Alg: "ES256"}, nil)
	key := p.Key()
	pub := &key.Private.(*ecdsa.PrivateKey).PublicKey
	other := oidctest.NewUnpublishedKey(f, key.KID, "ES256")
	now := clk.Now().Unix()
	honest := p.LogoutToken("alice", "sid-1", nil)
	for _, raw := range []string{honest, p.LogoutToken("", "sid-1", map[string]any{"nonce": "n"}), honest + "x", "a.b.c", ""} {
		f.Add(uint8(0), []byte(nil), raw)
	}
	ev := `"events":{"http://schemas.openid.net/event/backchannel-logout":{}}`
	seeds := []string{
		`{"iss":"` + p.Issuer + `","aud":"` + p.ClientID + `","iat":` + itoa(now) + `,"jti":"j1","sub":"alice",` + ev + `}`,
		`{"iss":"` + p.Issuer + `","aud":["x","` + p.ClientID + `"],"iat":` + itoa(now-300) + `,"jti":"j2","sid":"s",` + ev + `}`,
		`{"iss":"` + p.Issuer + `","aud":"` + p.ClientID + `","iat":` + itoa(now) + `,"jti":"j3","sub":"a","nonce":"n",` + ev + `}`,
		`{"iss":"` + p.Issuer + `","aud":"` + p.ClientID + `","iat":1e400,"jti":"j4","sub":"a",` + ev + `}`,
		`{"Iss":"` + p.Issuer + `","AUD":"` + p.ClientID + `","iat":` + itoa(now) + `,"jti":"j5","sub":"a",` + ev + `}`,
	}
	for _, claims := range seeds {
		for mode := range uint8(4) {
			f.Add(mode+1, []byte(claims), "")
		}
	}
	// The harness itself: an honest token, minted or signed here, passes.
	for _, raw := range []string{honest, signRaw(f, key, []byte(seeds[0]), "")} {
		if _, _, err := c.VerifyLogoutToken(context.Background(), raw); err != nil {
			f.Fatalf("an honest logout token is refused: %v", err)
		}
	}
	f.Fuzz(func(t *testing.T, mode uint8, claims []byte, raw string) {
		switch mode % 5 {
		case 0: // the fuzzer's own token
		case 1:
			raw = signRaw(t, key, claims, "")
		case 2:
			raw = signRaw(t, other, claims, "")
		case 3:
			raw = signRaw(t, key, claims, "none")
		case 4:
			raw = signRaw(t, key, claims, "HS256")
		}
		if raw == "" {
			return
		}
		sub, sid, err := c.VerifyLogoutToken(context.Background(), raw)
		if err != nil {
			return
		}
		if mode%5 >= 2 {
			t.Fatalf("mode %d: a token not signed by the provider was accepted: %q", mode%5, raw)
		}
		jws, perr := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.ES256})
		if perr != nil {
			t.Fatalf("accepted %q, which go-jose cannot parse: %v", raw, perr)
		}
		payload, verr := jws.Verify(pub)
		if verr != nil {
			t.Fatalf("accepted %q, whose signature is not the provider's: %v", raw, verr)
		}
		if why := notALogoutToken(payload, p.Issuer, p.ClientID, now, sub, sid); why != "" {
			t.Fatalf("accepted a signed token that %s: %s", why, payload)
		}
	})
}

// notALogoutToken says why payload is no logout token the client may act
// on, "" when it is one naming sub and sid (§2.4, §2.6).
func notALogoutToken(payload []byte, iss, clientID string, now int64, sub, sid string) string {
	var c map[string]any
	if json.Unmarshal(payload, &c) != nil {
		return "is no JSON object"
	}
	aud := []string{}
	switch a := c["aud"].(type) {
	case string:
		aud = append(aud, a)
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok {
				aud = append(aud, s)
			}
		}
	}
	events, _ := c["events"].(map[string]any)
	_, hasEvent := events[backchannelEvent].(map[string]any)
	_, hasNonce := c["nonce"]
	jti, _ := c["jti"].(string)
	iat, _ := c["iat"].(float64)
	wantSub, _ := c["sub"].(string)
	wantSid, _ := c["sid"].(string)
	window := (logoutMaxAge + leeway).Seconds()
	switch {
	case c["iss"] != iss:
		return "has another iss"
	case !slices.Contains(aud, clientID):
		return "is not for the client"
	case slices.ContainsFunc(aud, func(a string) bool { return a != clientID }):
		return "is also for an audience the client does not trust"
	case !hasEvent:
		return "lacks the back-channel event"
	case hasNonce:
		return "has a nonce"
	case jti == "":
		return "has no jti"
	case math.IsNaN(iat) || iat < float64(now)-window-1 || iat > float64(now)+leeway.Seconds()+1:
		return "has an iat out of the window"
	case wantSub == "" && wantSid == "":
		return "names neither sub nor sid"
	case sub != wantSub || sid != wantSid:
		return "names other sub and sid than were returned"
	}
	return ""
}

// signRaw signs payload as a compact JWS with k (typ logout+jwt), or with
// alg none or HS256 keyed by k's public key; "" when go-jose refuses.
func signRaw(t testing.TB, k *oidctest.Key, payload []byte, alg string) string {
	t.Helper()
	hdr := jose.ContentType("logout+jwt")
	opts := (&jose.SignerOptions{}).WithType(hdr).WithHeader("kid", k.KID)
	switch alg {
	case "none":
		h, _ := json.Marshal(map[string]string{"alg": "none", "kid": k.KID, "typ": "logout+jwt"})
		return b64(h) + "." + b64(payload) + "."
	case "HS256":
		der, err := x509PublicDER(k)
		if err != nil {
			t.Fatal(err)
		}
		return sign(jose.SigningKey{Algorithm: jose.HS256, Key: der}, opts, payload)
	}
	return sign(jose.SigningKey{Algorithm: jose.ES256, Key: k.Private}, opts, payload)
}

func sign(sk jose.SigningKey, opts *jose.SignerOptions, payload []byte) string {
	s, err := jose.NewSigner(sk, opts)
	if err != nil {
		return ""
	}
	jws, err := s.Sign(payload)
	if err != nil {
		return ""
	}
	out, _ := jws.CompactSerialize()
	return out
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// x509PublicDER is the PKIX encoding of k's public key: the "secret" of
// the HS256-with-the-public-key confusion.
func x509PublicDER(k *oidctest.Key) ([]byte, error) {
	return x509.MarshalPKIXPublicKey(k.JWK().Key)
}
