package idp

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestJWTDuplicateMemberRefused: JSON parsers disagree about an object
// that names a member twice: Go's encoding/json (the gateway, go-oidc)
// keeps the last, others keep the first or fail. A token whose claims
// name aud, sub, email or a nested role twice meant one identity to the
// gateway and another to an application that parses the token it is
// forwarded (the duplicate-key class of other gateways' advisories,
// review KM); RFC 7519 §4 lets a parser reject such a token, and the
// gateway now does, whatever the token is presented as (every JWT passes
// verifyJWT). The same claims written once are accepted.
func TestJWTDuplicateMemberRefused(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{}, nil)
	now := clk.Now().Unix()
	head := fmt.Sprintf(`"iss":%q,"iat":%d,"exp":%d,"client_id":%q`, p.Issuer, now, now+600, p.ClientID)
	aud := fmt.Sprintf(`"aud":%q`, p.ClientID)
	for _, tc := range []struct {
		name, payload string
		ok            bool
	}{
		{"once", `{` + head + `,` + aud + `,"sub":"alice","realm_access":{"roles":["user"]}}`, true},
		{"aud twice, ours last", `{` + head + `,"aud":"other-api",` + aud + `,"sub":"alice"}`, false},
		{"aud twice, ours first", `{` + head + `,` + aud + `,"aud":"other-api","sub":"alice"}`, false},
		{"sub twice", `{` + head + `,` + aud + `,"sub":"alice","sub":"admin"}`, false},
		{"email twice", `{` + head + `,` + aud + `,"sub":"alice","email":"a@x.test","email_verified":true,"email":"ceo@corp.test"}`, false},
		{"sub twice, one escaped", `{` + head + `,` + aud + `,"sub":"alice","s\u0075b":"admin"}`, false},
		{"nested role twice", `{` + head + `,` + aud + `,"sub":"alice","realm_access":{"roles":["user"],"roles":["admin"]}}`, false},
		{"in an array's object", `{` + head + `,` + aud + `,"sub":"alice","x":[{"a":1,"a":2}]}`, false},
		{"same name at two depths", `{` + head + `,` + aud + `,"sub":"alice","o":{"sub":"bob"}}`, true},
	} {
		id, err := c.VerifyBearer(context.Background(), p.SignRaw(tc.payload, oidctest.SignOptions{Typ: "at+jwt"}))
		if tc.ok && (err != nil || id == nil) {
			t.Errorf("%s: refused: %v", tc.name, err)
		}
		if !tc.ok && (!errors.Is(err, ErrInvalidToken) || id != nil || !strings.Contains(err.Error(), "twice")) {
			t.Errorf("%s: identity %+v, err %v; want refused, naming the member twice", tc.name, id, err)
		}
	}
}
