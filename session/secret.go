package session

import (
	"bytes"
	"compress/flate"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
)

// MinSecretLen is the shortest secret accepted, in bytes (256 bits).
const MinSecretLen = 32

// minSecretEntropy is the lowest Shannon entropy, in bits per byte, of the
// byte histogram of a secret. 32 random bytes score about 4.9 (at most 5 =
// log2(32)); a secret made of a repeated short pattern or of few distinct
// values scores far lower (32 zero bytes: 0; "abcd" repeated: 2).
const minSecretEntropy = 3.5

// minSecretDistinct is the fewest distinct byte values a secret must contain.
// 32 random bytes hold about 28 distinct values.
const minSecretDistinct = 16

// CheckSecret reports whether b is fit to seal sessions: at least 32 bytes,
// with at least 16 distinct byte values, and a byte-histogram Shannon entropy
// of at least 3.5 bits per byte. The rule refuses all-zero secrets, repeated
// short patterns and printable passwords of one character class; it cannot
// prove randomness, so generate secrets with `openssl rand -base64 32`.
func CheckSecret(b []byte) error {
	if len(b) < MinSecretLen {
		// oauth2-proxy's cookie secrets are often 16 or 24 bytes: say how
		// to make a new one rather than only what is wrong.
		return fmt.Errorf("session: secret is %d bytes, need at least %d: generate one with `openssl rand -base64 32`", len(b), MinSecretLen)
	}
	var counts [256]int
	distinct := 0
	for _, c := range b {
		if counts[c] == 0 {
			distinct++
		}
		counts[c]++
	}
	entropy := 0.0
	for _, n := range counts {
		if n > 0 {
			p := float64(n) / float64(len(b))
			entropy -= p * math.Log2(p)
		}
	}
	if distinct < minSecretDistinct || entropy < minSecretEntropy {
		return fmt.Errorf("session: secret has too little entropy (%d distinct bytes, %.1f bits/byte; need %d and %.1f): generate it with a random source",
			distinct, entropy, minSecretDistinct, minSecretEntropy)
	}
	return nil
}

// SecretLooksTyped names why a secret that CheckSecret accepts still looks
// made by a person rather than a random source, or "" when it does not:
// decoded bytes that are text (a password put through base64), or a
// repeated or stepped run in the bytes or in the text as written (a phrase
// of base64's letters decodes into bytes whose histogram looks random).
// It is a warning, not a refusal: such secrets were always accepted, and
// refusing them at an upgrade would stop a running gateway. The message
// never quotes the secret.
func SecretLooksTyped(written string, b []byte) string {
	if textSecret(b) {
		return fmt.Sprintf("secret decodes to text (%d printable characters), a password or phrase written in base64, not random bytes", len(b))
	}
	if why := secretShape(b, "bytes", minRepeatBytes, minStepBytes); why != "" {
		return "secret " + why + ", which random bytes do not"
	}
	if why := secretShape([]byte(strings.TrimSpace(written)), "characters", minRepeatChars, minStepChars); why != "" {
		return "secret as written " + why + ": a phrase, not the base64 of random bytes"
	}
	return ""
}

// DecodeSecret decodes a secret written in standard or URL-safe base64, padded
// or not, and checks it with CheckSecret. Surrounding white space is ignored.
func DecodeSecret(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("session: secret is empty")
	}
	var b []byte
	var err error
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding,
	} {
		if b, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		// The value is secret: say what is wrong without echoing it.
		return nil, fmt.Errorf("session: secret is not base64 (%d characters)", len(s))
	}
	if err := CheckSecret(b); err != nil {
		return nil, err
	}
	return b, nil
}

// boundPurpose ties a sealing purpose to CookieConfig.Binding: keys derived
// for one binding open nothing sealed for another.
func boundPurpose(purpose, binding string) string {
	if binding == "" {
		return purpose
	}
	return purpose + " bound to " + binding
}

// Key purposes. Each sealing use derives its own keys from every secret, so
// a value sealed for one purpose can never be opened as another.
const (
	purposeSessionCookie = "portcullis session cookie v1"
	purposeLoginState    = "portcullis login state v1"
	purposeRedisID       = "portcullis redis id cookie v1"
	purposeRedisValue    = "portcullis redis value v1"
	purposeRedisIndex    = "portcullis redis index v1"
)

// sealer seals and opens byte values with securecookie (AES-256-CTR then
// HMAC-SHA256 over name, timestamp and ciphertext). The first codec seals;
// all of them open, which is how secret rotation works.
type sealer struct {
	codecs []securecookie.Codec
	inflaters
}

// newSealer derives an HMAC key and an AES-256 key per secret with HKDF
// (RFC 5869), using the purpose in the info string. maxAge bounds
// securecookie's own timestamp check; 0 disables it.
func newSealer(secrets [][]byte, purpose string, maxAge time.Duration) (*sealer, error) {
	if len(secrets) == 0 {
		return nil, errors.New("session: no secrets")
	}
	var pairs [][]byte
	for i, secret := range secrets {
		if err := CheckSecret(secret); err != nil {
			return nil, fmt.Errorf("session: secrets[%d]: %w", i, err)
		}
		hashKey, err := hkdf.Key(sha256.New, secret, nil, purpose+" hmac-sha256", 32)
		if err != nil {
			return nil, fmt.Errorf("session: derive key: %w", err)
		}
		blockKey, err := hkdf.Key(sha256.New, secret, nil, purpose+" aes-256", 32)
		if err != nil {
			return nil, fmt.Errorf("session: derive key: %w", err)
		}
		pairs = append(pairs, hashKey, blockKey)
	}
	codecs := securecookie.CodecsFromPairs(pairs...)
	for _, c := range codecs {
		sc := c.(*securecookie.SecureCookie)
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxLength(0) // lengths are bounded by the callers
		sc.MaxAge(int(maxAge / time.Second))
	}
	return &sealer{codecs: codecs}, nil
}

// seal returns b sealed under name (the name is authenticated: a value moved
// to another name does not open).
func (s *sealer) seal(name string, b []byte) (string, error) {
	return securecookie.EncodeMulti(name, b, s.codecs...)
}

// open returns the bytes sealed under name, trying every secret.
func (s *sealer) open(name, value string) ([]byte, error) {
	var b []byte
	if err := securecookie.DecodeMulti(name, value, &b, s.codecs...); err != nil {
		return nil, err
	}
	return b, nil
}

// maxPlainLen bounds a decompressed value, so a sealed value (which only we
// can make) still cannot be a decompression bomb after a secret leak.
const maxPlainLen = 1 << 20

// compress deflates b.
func compress(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decompress inflates b, refusing results over maxPlainLen.
// inflaters pools flate readers: each holds a 32 KiB window and its tables,
// which every opening of a cold session would otherwise allocate anew.
type inflaters struct{ p sync.Pool }

func (in *inflaters) decompress(b []byte) ([]byte, error) {
	zr, _ := in.p.Get().(io.ReadCloser)
	if zr == nil {
		zr = flate.NewReader(bytes.NewReader(b))
	} else if err := zr.(flate.Resetter).Reset(bytes.NewReader(b), nil); err != nil {
		return nil, err
	}
	defer in.p.Put(zr)
	out, err := io.ReadAll(io.LimitReader(zr, maxPlainLen+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxPlainLen {
		return nil, errors.New("session: value too large")
	}
	return out, nil
}
