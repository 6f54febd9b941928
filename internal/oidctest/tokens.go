package oidctest

import (
	"cmp"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Key is one signing key of the provider. Its public half is published in
// the JWKS unless it was made with NewUnpublishedKey.
type Key struct {
	KID string
	Alg string // "RS256" or "ES256"
	// Private is *rsa.PrivateKey or *ecdsa.PrivateKey.
	Private any
}

// newKey generates an RSA-2048 (RS256) or P-256 (ES256) key.
func newKey(tb testing.TB, kid, alg string) *Key {
	tb.Helper()
	k := &Key{KID: kid, Alg: alg}
	var err error
	switch alg {
	case "ES256":
		k.Private, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		k.Alg = "RS256"
		k.Private, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		tb.Fatalf("oidctest: generating key: %v", err)
	}
	return k
}

// RSA key generation is slow (the more under -race), so RSA keys come from a
// pool of the test binary (keys.go): a provider takes a key no other live
// provider holds, with its own kid, and gives it back when its test ends.
// A relying party that trusts two providers at once (the provider and an
// extra issuer, two gateways, a provider and its replacement) therefore
// cannot verify one's token with the other's keys. unpublishedRSA is a key
// no provider publishes (kid "unknown-kid"); keys are never modified.
var unpublishedKey = sync.OnceValue(func() *Key { return mustRSA("unknown-kid") })

func mustRSA(kid string) *Key {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("oidctest: generating key: " + err.Error())
	}
	return &Key{KID: kid, Alg: "RS256", Private: k}
}

func unpublishedRSA(testing.TB) *Key { return unpublishedKey() }

// NewUnpublishedKey generates a key the provider does not publish: tokens
// signed with it carry a valid-looking signature that no JWKS entry verifies.
func NewUnpublishedKey(tb testing.TB, kid, alg string) *Key {
	tb.Helper()
	return newKey(tb, kid, alg)
}

// JWK returns the JWK of the key's public half (use "sig", alg and kid set).
func (k *Key) JWK() jose.JSONWebKey {
	var pub any
	switch p := k.Private.(type) {
	case *rsa.PrivateKey:
		pub = &p.PublicKey
	case *ecdsa.PrivateKey:
		pub = &p.PublicKey
	}
	return jose.JSONWebKey{Key: pub, KeyID: k.KID, Algorithm: k.Alg, Use: "sig"}
}

// publicDER is the PKIX encoding of the public key, the "secret" of the
// classic HS256-with-the-public-key confusion attack.
func (k *Key) publicDER() []byte {
	b, err := x509.MarshalPKIXPublicKey(k.JWK().Key)
	if err != nil {
		panic(err)
	}
	return b
}

// SignOptions shape a token made by Sign. The zero value signs normally with
// the provider's current key.
type SignOptions struct {
	Typ string // "typ" header; "" = none
	KID string // overrides the key's kid ("" = the key's)
	Key *Key   // nil = the provider's current key
	// Alg forces a hostile algorithm: "none" (unsigned) or "HS256" (an HMAC
	// whose secret is the signing key's public key). "" = the key's own.
	Alg string
	// Header adds header members (e.g. "jku", "jwk") to the protected header.
	Header map[string]any
	// CorruptSignature flips a byte of the signature.
	CorruptSignature bool
}

// Sign serialises claims as a compact JWS. Tests use it to mint access
// tokens, ID tokens and logout tokens, honest or hostile.
func (p *Provider) Sign(claims map[string]any, o SignOptions) string {
	p.tb.Helper()
	key := o.Key
	if key == nil {
		key = p.Key()
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		p.tb.Fatalf("oidctest: marshal claims: %v", err)
	}
	kid := cmp.Or(o.KID, key.KID)
	if o.Alg == "none" {
		return unsignedJWT(kid, o.Typ, payload)
	}
	s := p.signJWS(payload, key, kid, o)
	if o.CorruptSignature {
		s = corruptSignature(s)
	}
	return s
}

// SignRaw signs payload, a claims set as written (a member named twice,
// escapes), with the provider's key as Sign signs a map.
func (p *Provider) SignRaw(payload string, o SignOptions) string {
	p.tb.Helper()
	key := o.Key
	if key == nil {
		key = p.Key()
	}
	return p.signJWS([]byte(payload), key, cmp.Or(o.KID, key.KID), o)
}

// unsignedJWT is an alg "none" token: header and payload, empty signature.
func unsignedJWT(kid, typ string, payload []byte) string {
	h := map[string]any{"alg": "none", "kid": kid}
	if typ != "" {
		h["typ"] = typ
	}
	hb, _ := json.Marshal(h)
	enc := base64.RawURLEncoding
	return enc.EncodeToString(hb) + "." + enc.EncodeToString(payload) + "."
}

// signJWS signs payload with key (or, for o.Alg "HS256", with an HMAC keyed
// by key's public half) under the header o asks for.
func (p *Provider) signJWS(payload []byte, key *Key, kid string, o SignOptions) string {
	p.tb.Helper()
	signer, err := jose.NewSigner(signingKey(key, o.Alg), signerOptions(kid, o))
	if err != nil {
		p.tb.Fatalf("oidctest: signer: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		p.tb.Fatalf("oidctest: sign: %v", err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		p.tb.Fatalf("oidctest: serialize: %v", err)
	}
	return s
}

// signerOptions is the protected header: kid, typ (if any) and o.Header.
func signerOptions(kid string, o SignOptions) *jose.SignerOptions {
	opts := &jose.SignerOptions{}
	opts.WithHeader("kid", kid)
	if o.Typ != "" {
		opts.WithType(jose.ContentType(o.Typ))
	}
	for k, v := range o.Header {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	return opts
}

// signingKey is key's own algorithm and private key, or for alg "HS256" the
// algorithm-confusion key: HMAC with the public key's DER as the secret.
func signingKey(key *Key, alg string) jose.SigningKey {
	if alg == "HS256" {
		return jose.SigningKey{Algorithm: jose.HS256, Key: key.publicDER()}
	}
	return jose.SigningKey{Algorithm: jose.SignatureAlgorithm(key.Alg), Key: key.Private}
}

// corruptSignature flips one character of s's signature segment.
func corruptSignature(s string) string {
	b := []byte(s)
	i := len(b) - 5
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// IDToken mints an ID token for sub as the token endpoint would, with the
// active faults applied; accessToken (if any) sets at_hash.
func (p *Provider) IDToken(sub, nonce, accessToken string) string {
	f := p.faultsNow()
	now := p.opts.Now()
	p.mu.Lock()
	c := p.user.claimsWith(p.user.IDTokenClaims)
	age := p.idAge
	p.mu.Unlock()
	c["iss"], c["sub"], c["aud"] = p.Issuer, sub, p.ClientID
	if p.opts.IDTokenIssuer != "" {
		c["iss"] = p.opts.IDTokenIssuer
	}
	c["iat"], c["exp"] = now.Add(-age).Unix(), now.Add(time.Hour).Unix()
	if nonce != "" {
		c["nonce"] = nonce
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken)) // OIDC Core 3.1.3.6, for RS256/ES256
		c["at_hash"] = base64.RawURLEncoding.EncodeToString(sum[:16])
	}
	o := SignOptions{}
	applyIDTokenFaults(f, c, &o, p.tb)
	return p.Sign(c, o)
}

func applyIDTokenFaults(f Fault, c map[string]any, o *SignOptions, tb testing.TB) {
	if f&FaultWrongIssuer != 0 {
		c["iss"] = "https://evil.example.com"
	}
	if f&FaultWrongAudience != 0 {
		c["aud"] = "another-client"
	}
	if f&FaultWrongNonce != 0 {
		c["nonce"] = "not-the-nonce"
	}
	if f&FaultMissingNonce != 0 {
		delete(c, "nonce")
	}
	if f&FaultExpiredIDToken != 0 {
		c["exp"] = c["iat"].(int64) - 3600
		c["iat"] = c["iat"].(int64) - 7200
	}
	if f&FaultMissingSub != 0 {
		delete(c, "sub")
	}
	if f&FaultStringIat != 0 {
		c["iat"] = strconv.FormatInt(c["iat"].(int64), 10)
	}
	if f&FaultBadAtHash != 0 {
		c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA"
	}
	o.CorruptSignature = f&FaultBadSignature != 0
	if f&FaultAlgNone != 0 {
		o.Alg = "none"
	}
	if f&FaultHS256PublicKey != 0 {
		o.Alg = "HS256"
	}
	if f&FaultUnknownKID != 0 {
		o.Key = unpublishedRSA(tb)
	}
}

// AccessToken mints a JWT access token for sub (typ at+jwt, aud =
// Options.AccessTokenAudience, exp in an hour, iat now); extra claims are
// added or override (a nil value deletes the claim).
func (p *Provider) AccessToken(sub string, extra map[string]any) string {
	now := p.opts.Now()
	c := map[string]any{"iss": p.Issuer, "sub": sub, "aud": p.opts.AccessTokenAudience,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "client_id": p.ClientID}
	withExtra(c, extra)
	return p.mint(p.Sign(c, SignOptions{Typ: "at+jwt"}))
}

// OpaqueToken registers an opaque access token that introspection reports
// active for sub until exp, with the given aud ("" = none) and scope.
func (p *Provider) OpaqueToken(sub, aud, scope string, exp time.Time) string {
	t := p.mint(randomString())
	p.mu.Lock()
	p.access[t] = grant{sub: sub, scope: scope, exp: exp, aud: aud}
	p.mu.Unlock()
	return t
}

// LogoutToken mints a valid back-channel logout token (OIDC Back-Channel
// Logout 1.0 §2.4) for sub and sid; extra claims add or override (nil
// deletes).
func (p *Provider) LogoutToken(sub, sid string, extra map[string]any) string {
	c := map[string]any{"iss": p.Issuer, "aud": p.ClientID, "iat": p.opts.Now().Unix(),
		"jti": randomString(), "events": map[string]any{
			"http://schemas.openid.net/event/backchannel-logout": map[string]any{}}}
	if sub != "" {
		c["sub"] = sub
	}
	if sid != "" {
		c["sid"] = sid
	}
	withExtra(c, extra)
	return p.mint(p.Sign(c, SignOptions{Typ: "logout+jwt"}))
}

// withExtra adds extra's claims to c, replacing c's; a nil value deletes
// the claim instead, so that a test can mint a token without it.
func withExtra(c, extra map[string]any) {
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
}
