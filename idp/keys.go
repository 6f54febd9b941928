package idp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/sync/singleflight"

	"github.com/portcullis/portcullis/internal/panicerr"
)

// asymmetricAlgs are the only JWS algorithms ever accepted: never "none",
// never HMAC (whose "secret" could be a public key).
var asymmetricAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512, jose.EdDSA,
}

// signingAlgs keeps the asymmetric algorithms of advertised (the provider's
// id_token_signing_alg_values_supported); none advertised means RS256, the
// one OIDC Core 15.1 requires.
func signingAlgs(advertised []string) []string {
	var out []string
	for _, a := range advertised {
		if slices.Contains(asymmetricAlgs, jose.SignatureAlgorithm(a)) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		out = []string{string(jose.RS256)}
	}
	return out
}

// keySet is an oidc.KeySet over a remote JWKS (RFC 7517) that honours each
// key's "use" (absent or "sig") and "alg" (absent or the token's), skips
// entries that do not parse, and refetches on an unknown kid at most once
// per cool-down, so a flood of tokens with random kids costs one fetch.
type keySet struct {
	c      *Client
	issuer string // for discovering jwks_uri when url is ""
	// flight runs one refresh at a time; requests wait for it only as long
	// as they live.
	flight  singleflight.Group
	fetchMu sync.Mutex
	last    time.Time // last fetch attempt; guarded by fetchMu
	failed  error     // the last fetch's error, nil after a success; guarded by fetchMu

	mu      sync.RWMutex
	url     string
	keys    []jose.JSONWebKey
	fetched time.Time // when keys were last fetched; guarded by mu
}

// jwksMaxAge is how long a fetched key set is used without asking again:
// a key the issuer withdrew from its JWKS (rotation ended, key revoked)
// stops being trusted within it, even when every token verifies against
// the cached set and so never causes a fetch.
const jwksMaxAge = 10 * time.Minute

var _ oidc.KeySet = (*keySet)(nil)

// VerifySignature checks the compact JWS raw against the keys and returns
// its payload. Header members jku, jwk and x5u are never used: keys come
// only from the configured JWKS.
func (k *keySet) VerifySignature(ctx context.Context, raw string) ([]byte, error) {
	jws, err := jose.ParseSignedCompact(raw, asymmetricAlgs)
	if err != nil {
		return nil, fmt.Errorf("idp: malformed jws: %v", err)
	}
	if len(jws.Signatures) != 1 {
		return nil, errors.New("idp: jws must have exactly one signature")
	}
	h := jws.Signatures[0].Protected
	if _, err := typHeader(h); err != nil {
		return nil, err
	}
	k.mu.RLock()
	keys, stale := k.keys, k.fetched.IsZero() || k.c.now().Sub(k.fetched) > jwksMaxAge
	k.mu.RUnlock()
	if stale && len(keys) > 0 {
		// Fetch again before trusting an old set; should the issuer not
		// answer, the cached keys serve until it does (the cool-down
		// bounds the attempts).
		if fresh, err := k.refresh(ctx); err == nil {
			keys = fresh
		}
	}
	if p, ok := verifyWith(jws, h, keys); ok {
		return p, nil
	}
	tried := keys
	keys, err = k.refresh(ctx)
	if err != nil {
		noteKeysUnavailable(ctx, err)
		return nil, err
	}
	if !sameKeys(keys, tried) {
		if p, ok := verifyWith(jws, h, keys); ok {
			return p, nil
		}
	}
	return nil, fmt.Errorf("idp: no key verifies the signature (kid %q)", h.KeyID)
}

// keysUnavailable records, for a verification that asks for it
// (withKeysUnavailable), that the JWKS could not be fetched when no key at
// hand verified the token: the provider was not reachable, which is not
// the same as a token no key of the provider verifies. go-oidc reports the
// KeySet's error as text only, so the record travels in the context.
type keysUnavailable struct{ err error }

type keysUnavailableKey struct{}

// withKeysUnavailable returns ctx carrying a fresh keysUnavailable record.
func withKeysUnavailable(ctx context.Context) (context.Context, *keysUnavailable) {
	ku := &keysUnavailable{}
	return context.WithValue(ctx, keysUnavailableKey{}, ku), ku
}

// noteKeysUnavailable sets ctx's keysUnavailable record, if any, to err.
func noteKeysUnavailable(ctx context.Context, err error) {
	if ku, ok := ctx.Value(keysUnavailableKey{}).(*keysUnavailable); ok {
		ku.err = err
	}
}

// sameKeys reports whether a and b are one key set as refresh returns it
// (the same slice): within the cool-down refresh hands back the set just
// tried, and checking a forged signature against it again doubled what
// each forged token cost.
func sameKeys(a, b []jose.JSONWebKey) bool {
	return len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

func verifyWith(jws *jose.JSONWebSignature, h jose.Header, keys []jose.JSONWebKey) ([]byte, bool) {
	for i := range keys {
		key := &keys[i]
		if h.KeyID != "" && key.KeyID != h.KeyID {
			continue
		}
		if key.Algorithm != "" && key.Algorithm != h.Algorithm {
			continue
		}
		if p, err := jws.Verify(key); err == nil {
			return p, true
		}
	}
	return nil, false
}

// trustedUntil is when the key set held now is due to be fetched again
// (jwksMaxAge after its fetch); zero before the first fetch. A verification
// made with it is not believed longer.
func (k *keySet) trustedUntil() time.Time {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.fetched.IsZero() {
		return time.Time{}
	}
	return k.fetched.Add(jwksMaxAge)
}

// jwksTimeout bounds one fetch of a JWKS (with its discovery), which
// outlives the request that started it.
const jwksTimeout = 10 * time.Second

// refresh fetches the JWKS unless a fetch was attempted within the
// cool-down; it returns the keys known afterwards. The fetch serves every
// request that waits for it and sets the cool-down for all, so it does not
// end with the request that started it: a client that sends a token with
// an unknown kid and hangs up would otherwise fail the fetch and keep the
// keys from loading for everyone during the cool-down. Nor does a request
// wait for it longer than it lives: with a slow provider (up to jwksTimeout)
// such clients would otherwise park a goroutine and their request each,
// for as many as they send.
func (k *keySet) refresh(ctx context.Context) ([]jose.JSONWebKey, error) {
	ch := k.flight.DoChan("", func() (_ any, err error) {
		// Its own goroutine: a panic would end the process (panicerr).
		defer panicerr.Recover(&err, "idp: the JWKS fetch")
		return k.refreshShared(ctx)
	})
	select {
	case r := <-ch:
		keys, _ := r.Val.([]jose.JSONWebKey)
		return keys, r.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("idp: waiting for the JWKS: %w", ctx.Err())
	}
}

// refreshShared is refresh's one flight, which outlives the request that
// started it.
func (k *keySet) refreshShared(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	now := k.c.now()
	if !k.last.IsZero() && now.Sub(k.last) < k.c.cfg.JWKSCooldown {
		// Within the cool-down of a failed fetch the keys are still not
		// known: say so, rather than that none of the old ones verifies.
		k.mu.RLock()
		defer k.mu.RUnlock()
		return k.keys, k.failed
	}
	k.last = now
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), jwksTimeout)
	defer cancel()
	keys, err := k.fetch(ctx)
	if err != nil {
		// Retry a failed fetch sooner than a successful one: after a sixth
		// of the cool-down (5 s by default).
		k.last = now.Add(-k.c.cfg.JWKSCooldown * 5 / 6)
		k.failed = err
		return nil, err
	}
	k.failed = nil
	k.mu.Lock()
	k.keys, k.fetched = keys, now
	k.mu.Unlock()
	return keys, nil
}

func (k *keySet) fetch(ctx context.Context) ([]jose.JSONWebKey, error) {
	k.mu.RLock()
	u := k.url
	k.mu.RUnlock()
	if u == "" {
		var err error
		if u, err = k.c.discoverJWKSURL(ctx, k.issuer); err != nil {
			return nil, err
		}
		k.mu.Lock()
		k.url = u
		k.mu.Unlock()
	}
	body, err := k.c.getJSON(k.c.providerCtx(ctx, "jwks"), u, "")
	if err != nil {
		return nil, fmt.Errorf("idp: fetching JWKS %s: %w", u, err)
	}
	keys, err := parseJWKS(body)
	if err != nil {
		// Named by the issuer: the log line of a refused token says whose
		// keys could not be used.
		return nil, fmt.Errorf("idp: the JWKS of %s: %w", k.issuer, err)
	}
	return keys, nil
}

// maxJWKSKeys bounds the signature keys of one issuer's JWKS. A signature
// is checked against each key its kid and alg name, every key for a token
// without a kid, and any client can send a forged one: a set of 1,400 keys
// (a 1 MiB answer of RSA keys with the costliest exponent) made each cost
// a second of CPU. Providers publish a few (Entra 4-6; the largest set
// seen, a national eID test provider, 26): 64 keys leave room, and cost some
// 50 ms of the costliest keys, 3 ms of real ones (exponent 65537).
const maxJWKSKeys = 64

// parseJWKS keeps the usable signature keys of a JWK Set. RFC 7517 §5:
// entries that do not parse are ignored; keys for encryption ("use":"enc")
// and non-public (symmetric or private) keys are never used. A set of more
// than maxJWKSKeys usable keys is refused whole, as a failed fetch: kept in
// part, tokens signed by a key left out would fail with no word why.
func parseJWKS(body []byte) ([]jose.JSONWebKey, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("not a JWK Set: %v", err)
	}
	var out []jose.JSONWebKey
	for _, raw := range set.Keys {
		var key jose.JSONWebKey
		if err := key.UnmarshalJSON(raw); err != nil {
			continue
		}
		if key.Use != "" && key.Use != "sig" {
			continue
		}
		if !key.IsPublic() || !key.Valid() {
			continue
		}
		if key.Algorithm != "" && !slices.Contains(asymmetricAlgs, jose.SignatureAlgorithm(key.Algorithm)) {
			continue
		}
		if len(out) == maxJWKSKeys {
			return nil, fmt.Errorf("more than %d signature keys, the most the gateway uses", maxJWKSKeys)
		}
		out = append(out, key)
	}
	return out, nil
}

// trustedIssuer is an issuer whose JWT access tokens are accepted.
type trustedIssuer struct {
	issuer    string
	audiences []string
	extra     bool // one of provider.extra_issuers, whose tokens are for its audiences only (ownAudiences)
	keys      *keySet
	verifier  *oidc.IDTokenVerifier
}

// newTrustedIssuer builds the verifier for an issuer's bearer tokens: go-oidc
// checks iss, alg and signature; audience and time claims are checked by
// verifyJWT (several audiences, 30 s leeway, numeric time claims).
func (c *Client) newTrustedIssuer(iss string, auds []string, jwksURL string, algs []string) *trustedIssuer {
	ks := &keySet{c: c, issuer: iss, url: jwksURL}
	if algs == nil {
		algs = signingAlgs([]string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})
	}
	v := oidc.NewVerifier(iss, ks, &oidc.Config{SkipClientIDCheck: true, SkipExpiryCheck: true,
		SupportedSigningAlgs: algs, Now: c.now})
	return &trustedIssuer{issuer: iss, audiences: auds, keys: ks, verifier: v}
}

// discoverJWKSURL reads jwks_uri from the issuer's discovery document
// (OIDC Discovery 1.0 §4), checking that it names the same issuer.
func (c *Client) discoverJWKSURL(ctx context.Context, iss string) (string, error) {
	body, err := c.getJSON(c.providerCtx(ctx, "discovery"),
		strings.TrimSuffix(iss, "/")+"/.well-known/openid-configuration", "")
	if err != nil {
		return "", fmt.Errorf("idp: discovery of %s: %w", iss, err)
	}
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || doc.Issuer != iss || doc.JWKSURI == "" {
		return "", fmt.Errorf("idp: discovery of %s: bad document (issuer %q)", iss, doc.Issuer)
	}
	// The rule the provider's own jwks_uri meets (Discover): keys fetched
	// over http under an https issuer would let anyone on the path sign
	// tokens for it.
	if why := endpointProblem(iss, doc.JWKSURI); why != "" {
		return "", fmt.Errorf("idp: discovery of %s: its jwks_uri %s %s: %s", iss, shownEndpoint(doc.JWKSURI), why, endpointFix(why))
	}
	return doc.JWKSURI, nil
}
