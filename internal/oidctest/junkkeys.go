package oidctest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"testing"
)

// JunkRSAKeys returns n RSA public keys as JWKs for Options.ExtraJWKS, of
// no private key: random odd 4096-bit moduli with the exponent 2^31-1, the
// costliest key to check that the JOSE library accepts (about 0.7 ms a
// check), each with the kid kid ("" = none). A JWKS of 1 MiB holds about
// 1,400 of them.
func JunkRSAKeys(tb testing.TB, n int, kid string) []json.RawMessage {
	tb.Helper()
	keys := make([]json.RawMessage, n)
	for i := range keys {
		m, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 4096))
		if err != nil {
			tb.Fatal(err)
		}
		m.SetBit(m, 4095, 1)
		m.SetBit(m, 0, 1)
		k := fmt.Sprintf(`"kty":"RSA","n":%q,"e":"f____w"`, base64.RawURLEncoding.EncodeToString(m.Bytes()))
		if kid != "" {
			k += fmt.Sprintf(`,"kid":%q`, kid)
		}
		keys[i] = json.RawMessage("{" + k + "}")
	}
	return keys
}
