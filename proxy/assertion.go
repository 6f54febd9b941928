package proxy

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/cryptosigner"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/ascii"
	"github.com/portcullis/portcullis/internal/logattr"
	"github.com/portcullis/portcullis/policy"
)

// assertionLifetime is how long a signed identity assertion is valid. The
// handler reuses one until half of it has passed.
const assertionLifetime = 2 * time.Minute

// RetiredKeyGrace is how long jwks.json keeps listing the public key of an
// assertion key that a reload replaced (docs/headers.md, rotating the key):
// the assertions it signed live 2 minutes (assertionLifetime), an upstream
// may still hold one, and verifiers allow up to 5 minutes of clock skew
// past exp (.NET's default), so it must outlast both.
const RetiredKeyGrace = 10 * time.Minute

// signer signs identity assertions (docs/headers.md): short-lived
// JWTs with ES256 or RS256, the key id being its RFC 7638 thumbprint.
type signer struct {
	sig  jose.Signer
	jwks []byte // the public JWK Set (RFC 7517 §5) of the signing key
	// withRetired is jwks plus the retired key, served until retiredUntil;
	// nil when there is none.
	withRetired  []byte
	retiredUntil time.Time
}

// newSigner builds the signer from key, else from a fresh P-256 key.
// published are further public keys jwks.json lists (the other keys of the
// key file); retired (nil = none) is the public key key replaced, listed
// until retiredUntil.
func newSigner(key crypto.Signer, published []crypto.PublicKey, retired crypto.PublicKey, retiredUntil time.Time) (*signer, error) {
	if key == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("proxy: generating the assertion key: %w", err)
		}
		key = k
	}
	pub, err := publicJWK(key.Public())
	if err != nil {
		return nil, err
	}
	var signingKey any = key
	switch key.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey:
	default:
		signingKey = cryptosigner.Opaque(key)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.SignatureAlgorithm(pub.Algorithm), Key: jose.JSONWebKey{Key: signingKey, KeyID: pub.KeyID}},
		(&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return nil, fmt.Errorf("proxy: assertion signer: %w", err)
	}
	set, err := withKeys([]jose.JSONWebKey{pub}, published)
	if err != nil {
		return nil, err
	}
	s := &signer{sig: sig}
	if s.jwks, err = json.Marshal(jose.JSONWebKeySet{Keys: set}); err != nil {
		return nil, fmt.Errorf("proxy: assertion JWKS: %w", err)
	}
	if retired == nil {
		return s, nil
	}
	all, err := withKeys(set, []crypto.PublicKey{retired})
	if err != nil {
		return nil, fmt.Errorf("proxy: retired %w", err)
	}
	if len(all) == len(set) {
		return s, nil // listed already
	}
	if s.withRetired, err = json.Marshal(jose.JSONWebKeySet{Keys: all}); err != nil {
		return nil, fmt.Errorf("proxy: assertion JWKS: %w", err)
	}
	s.retiredUntil = retiredUntil
	return s, nil
}

// withKeys is set followed by the JWKs of keys not in it already (by kid,
// the thumbprint: a key listed twice in the file is served once).
func withKeys(set []jose.JSONWebKey, keys []crypto.PublicKey) ([]jose.JSONWebKey, error) {
	out := slices.Clone(set)
	for _, k := range keys {
		jwk, err := publicJWK(k)
		if err != nil {
			return nil, err
		}
		if !slices.ContainsFunc(out, func(have jose.JSONWebKey) bool { return have.KeyID == jwk.KeyID }) {
			out = append(out, jwk)
		}
	}
	return out, nil
}

// publicJWK is the JWK of the public key pub, with its algorithm, use sig
// and its RFC 7638 thumbprint as kid. pub must be a public key: a private
// one is refused (signingAlgorithm), so that no private member can ever
// reach jwks.json.
func publicJWK(pub crypto.PublicKey) (jose.JSONWebKey, error) {
	alg, err := signingAlgorithm(pub)
	if err != nil {
		return jose.JSONWebKey{}, err
	}
	jwk := jose.JSONWebKey{Key: pub, Algorithm: string(alg), Use: "sig"}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return jose.JSONWebKey{}, fmt.Errorf("proxy: assertion key thumbprint: %w", err)
	}
	jwk.KeyID = base64.RawURLEncoding.EncodeToString(tp)
	return jwk, nil
}

// keySet is the JWK Set served at now: the signing key, and the retired
// one until its grace has passed.
func (s *signer) keySet(now time.Time) []byte {
	if s.withRetired != nil && now.Before(s.retiredUntil) {
		return s.withRetired
	}
	return s.jwks
}

// signingAlgorithm is ES256 for P-256 keys and RS256 for RSA keys of at
// least 2048 bits; other keys are refused.
func signingAlgorithm(pub crypto.PublicKey) (jose.SignatureAlgorithm, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("proxy: assertion key: want a P-256 EC key, got curve %s", k.Curve.Params().Name)
		}
		return jose.ES256, nil
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return "", fmt.Errorf("proxy: assertion key: RSA key of %d bits, want at least 2048", k.N.BitLen())
		}
		return jose.RS256, nil
	}
	return "", fmt.Errorf("proxy: assertion key: unsupported key type %T (want EC P-256 or RSA)", pub)
}

// ParseSigningKey parses the first PEM private key (PKCS#8, SEC 1 EC or
// PKCS#1 RSA) in b and checks that it can sign assertions: EC P-256 for
// ES256 or RSA of at least 2048 bits for RS256 (RFC 7518 §3.1). The further
// keys of b are checked as ParseAssertionKeys does.
func ParseSigningKey(b []byte) (crypto.Signer, error) {
	k, _, err := ParseAssertionKeys(b)
	return k, err
}

// ParseAssertionKeys parses an assertion key file (headers.assertion_key_file):
// its first PEM private key signs, and every further key, private or public
// ("PUBLIC KEY", PKIX), is only listed in jwks.json. Replicas that share
// the file can so publish a new key before any of them signs with it
// (docs/headers.md, rotating the key). Every key must be one that could
// sign (signingAlgorithm); blocks of other types (certificates, EC
// parameters) are skipped. The config package calls it to load the file.
func ParseAssertionKeys(b []byte) (crypto.Signer, []crypto.PublicKey, error) {
	var signing crypto.Signer
	var published []crypto.PublicKey
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		pub, priv, err := parseKeyBlock(block)
		if err != nil {
			return nil, nil, err
		}
		switch {
		case pub == nil:
			continue // not a key
		case priv != nil && signing == nil:
			signing = priv
		case !slices.ContainsFunc(published, pub.(publicKey).Equal):
			published = append(published, pub) // each key once (the signing key is left out by newSigner)
		}
		if len(published) > maxPublishedKeys {
			return nil, nil, fmt.Errorf("proxy: assertion key: more than %d keys besides the signing one", maxPublishedKeys)
		}
	}
	if signing == nil {
		return nil, nil, errors.New("proxy: assertion key: no PEM private key found")
	}
	return signing, published, nil
}

// publicKey is what the public keys of the standard library implement.
type publicKey interface{ Equal(crypto.PublicKey) bool }

// maxPublishedKeys bounds the keys an assertion key file lists besides
// its signing key: a rotation needs one (the next or the previous key).
const maxPublishedKeys = 3

// parseKeyBlock parses a PEM block of an assertion key file: its public
// key, and the private one when it holds one; nothing for a block that
// holds no key. A key that cannot sign assertions is an error.
func parseKeyBlock(block *pem.Block) (crypto.PublicKey, crypto.Signer, error) {
	var k any
	var err error
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "PUBLIC KEY":
		k, err = x509.ParsePKIXPublicKey(block.Bytes)
	default:
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("proxy: assertion key: %w", err)
	}
	priv, isPrivate := k.(crypto.Signer)
	pub := k
	if isPrivate {
		pub = priv.Public()
	}
	if _, err := signingAlgorithm(pub); err != nil {
		return nil, nil, err
	}
	return pub, priv, nil
}

// assertionClaims is the payload of an identity assertion.
type assertionClaims struct {
	Issuer            string           `json:"iss"`
	Audience          string           `json:"aud"`
	Subject           string           `json:"sub"`
	Email             string           `json:"email,omitempty"`
	EmailVerified     bool             `json:"email_verified,omitempty"`
	PreferredUsername string           `json:"preferred_username,omitempty"`
	Groups            []string         `json:"groups,omitempty"`
	SubjectID         *subjectID       `json:"sub_id,omitempty"`
	IssuedAt          *jwt.NumericDate `json:"iat"`
	NotBefore         *jwt.NumericDate `json:"nbf"`
	Expiry            *jwt.NumericDate `json:"exp"`
}

// subjectID is the sub_id claim (RFC 9493 §4.1) in the iss_sub format
// (§3.2.4): the issuer that vouched for the identity and its sub there.
// sub alone is only unique within one issuer: with extra_issuers, a
// machine token from another issuer (a CI system, another tenant) may
// carry the sub, or user_claim value, of a provider user, and the app
// must be able to tell them apart. iss names the gateway, so the
// identity's issuer needs a claim of its own.
type subjectID struct {
	Format string `json:"format"`
	Issuer string `json:"iss"`
	Sub    string `json:"sub"`
}

// subjectIDOf is id's sub_id, nil when the identity has no issuer (a plain
// OAuth 2.0 provider such as GitHub) or no known sub at it. Sessions saved
// before Identity.ProviderSubject existed have the sub only in their
// claims; the user_claim value is never put in its place here, as it may
// be another claim (an email) than the issuer's sub (idp puts it in
// ProviderSubject only for a token without sub).
func subjectIDOf(id *portcullis.Identity) *subjectID {
	sub := id.ProviderSubject
	if sub == "" {
		sub, _ = id.Claims["sub"].(string)
	}
	if id.Issuer == "" || sub == "" {
		return nil
	}
	return &subjectID{Format: "iss_sub", Issuer: id.Issuer, Sub: sub}
}

// assertable refuses an identity whose user, email, preferred_username or
// groups idp.IdentityValue refuses, or whose provider sub, the sub_id the
// assertion states (subjectIDOf), an application may read as another
// (ascii.Misreadable, which idp applies to it at sign-in): only one saved
// before that rule (an older version's session) can hold such a value,
// and its headers leave it out (headerNames.values); the assertion must
// not state it either. The sub_id was once left unchecked, and an app
// keying accounts on it read "\u212aate" as kate's.
func assertable(id *portcullis.Identity) error {
	for _, v := range [...]any{id.Subject, verifiedEmail(id), id.PreferredUsername, id.Groups} {
		if _, err := idp.IdentityValue(v); err != nil {
			return err
		}
	}
	if sid := subjectIDOf(id); sid != nil {
		if why := ascii.Misreadable(sid.Sub); why != "" {
			return fmt.Errorf("%w: the provider sub: %s", idp.ErrLookalike, why)
		}
	}
	return nil
}

// sign issues an assertion for id to the audience aud (see audience), valid
// for assertionLifetime but never past end, when the identity stops being
// valid (zero: unknown).
func (s *signer) sign(issuer, aud string, id *portcullis.Identity, now, end time.Time) (string, error) {
	if err := assertable(id); err != nil {
		return "", err
	}
	exp := now.Add(assertionLifetime)
	if !end.IsZero() && end.Before(exp) {
		exp = end
	}
	c := assertionClaims{
		Issuer:            issuer,
		Audience:          aud,
		Subject:           id.Subject,
		Email:             verifiedEmail(id),
		EmailVerified:     id.EmailVerified && id.Email != "",
		PreferredUsername: id.PreferredUsername,
		Groups:            id.Groups,
		SubjectID:         subjectIDOf(id),
		IssuedAt:          jwt.NewNumericDate(now),
		NotBefore:         jwt.NewNumericDate(now.Add(-5 * time.Second)),
		Expiry:            jwt.NewNumericDate(exp),
	}
	// The claims are one struct: marshalled once and signed as the JWS
	// payload, rather than through go-jose's JWT builder, which merges
	// them through a map first (twice the allocations and CPU).
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := s.sig.Sign(payload)
	if err != nil {
		return "", err
	}
	return jws.CompactSerialize()
}

// identityValues returns the cached header values of id for the assertion
// audience aud (from audience, never the raw Host: a client that varies its
// Host then gets the same entry and costs no signature), signing a new
// assertion when the cached one is about half-way through its lifetime
// (renewAt). The assertion never outlives end, when the identity stops
// being valid (identityEnd). An empty aud sends no assertion.
func (h *Handler) identityValues(id *portcullis.Identity, accessToken, aud string, end time.Time) *identityValues {
	now := h.now()
	k := valueKey{id: id, host: aud}
	prev := h.idCache.get(k)
	if prev != nil && monoTime(now) < prev.renewAt {
		return prev
	}
	var v *identityValues
	if prev != nil {
		v = prev.clone() // the identity is the same (it is the key): only the assertion is due
	} else {
		v = h.names.values(id, accessToken, h.log)
	}
	v.renewAt = monoTime(renewAt(now))
	v.vals[slotAssertion] = ""
	if h.names.assertion != "" && aud != "" {
		a, err := h.signer.sign(h.issuer, aud, id, now, end)
		if err != nil {
			h.log.Error("proxy: signing the identity assertion failed", logattr.Err(err))
		} else {
			v.vals[slotAssertion] = a
		}
	}
	h.idCache.put(k, v)
	return v
}

// renewAt is when an assertion signed at now is renewed: between a quarter
// and half of its lifetime, at random, so that the assertions of many
// identities first seen together (a restart, a burst of logins) are not
// all signed again in the same second.
func renewAt(now time.Time) time.Time {
	return now.Add(assertionLifetime/2 - mrand.N(assertionLifetime/4))
}

// audience is the aud of the assertion sent for a request that matched
// route, is forwarded to up (nil when none) and named host (its Host, or in
// forward-auth mode the original request's host). It is never a value only
// the client chose (docs/headers.md):
//   - the upstream's assertion_audience, when set;
//   - else, for a route with an exact host, that host, lower-cased, with the
//     request's port when it has one;
//   - else, for a wildcard route ("*.example.com"), the request's host
//     (parsed by policy.ParseHost: lower-cased, trailing dot removed, port kept),
//     which the route's pattern constrains to a subdomain of the configured
//     domain; a host not under the pattern gets no assertion ("");
//   - else (a route without host) public_url's host.
func (h *Handler) audience(route *policy.Route, up *upstream, host Host) string {
	if up != nil && up.audience != "" {
		return up.audience
	}
	pattern := ""
	if route != nil {
		pattern = route.HostPattern()
	}
	if pattern == "" {
		return strings.ToLower(h.cfg.PublicURL.Host)
	}
	if suffix := pattern; suffix[0] == '.' {
		if len(host.Name) <= len(suffix) || !strings.HasSuffix(host.Name, suffix) {
			return ""
		}
		pattern = host.Name
	}
	if host.Port == "" {
		return pattern
	}
	if s := host.String(); len(s) == len(pattern)+1+len(host.Port) && s[:len(pattern)] == pattern {
		return s // already "pattern:port": no allocation on the hot path
	}
	return pattern + ":" + host.Port
}

// handleJWKS serves the assertion public keys; they change only when a
// reload changes the key (which keeps the replaced one listed for
// RetiredKeyGrace), so caches may keep them a few minutes.
func (h *Handler) handleJWKS(ex *exchange, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.fail(ex, r, methodNotAllowed("GET, HEAD"))
		return
	}
	ex.Header().Set("Content-Type", "application/json")
	ex.Header().Set("Cache-Control", "public, max-age=300")
	ex.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = ex.Write(h.signer.keySet(h.now()))
	}
}
