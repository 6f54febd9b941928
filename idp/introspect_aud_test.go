package idp

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestIntrospectionAudienceOfAnotherType: an introspection answer whose aud
// is present but neither a string nor an array of strings (RFC 7662 §2.2,
// RFC 7519 §4.1.3) is refused. Its members of another type were dropped,
// so such an aud read as no aud at all and the answer was accepted on its
// client_id alone, while a JWT with the same aud is refused (go-oidc does
// not read it): one rule for a bearer token's audience however it is
// checked. An absent aud, and Ory Hydra's empty array, still fall back to
// client_id.
func TestIntrospectionAudienceOfAnotherType(t *testing.T) {
	at := &answerTransport{}
	_, c, clk := setup(t, oidctest.Options{}, func(cfg *Config) { cfg.HTTPClient = &http.Client{Transport: at} })
	exp := itoa(clk.Now().Unix() + 60)
	answer := func(aud string) string {
		s := `{"active":true,"sub":"svc","client_id":"client","exp":` + exp
		if aud != "" {
			s += `,"aud":` + aud
		}
		return s + `}`
	}
	for i, tt := range []struct {
		aud   string
		valid bool
	}{
		{aud: "", valid: true},
		{aud: `[]`, valid: true},
		{aud: `"client"`, valid: true},
		{aud: `["other","client"]`, valid: true},
		{aud: `42`},
		{aud: `[42]`},
		{aud: `["client",42]`},
		{aud: `{"client":true}`},
		{aud: `null`},
		{aud: `true`},
		{aud: `[["client"]]`},
	} {
		at.answer.Store(&introspectionReply{status: 200, body: []byte(answer(tt.aud))})
		id, err := c.VerifyBearer(context.Background(), "opaque-aud-"+itoa(int64(i)))
		switch {
		case tt.valid && err != nil:
			t.Errorf("aud %s: %v, want accepted", tt.aud, err)
		case !tt.valid && err == nil:
			t.Errorf("aud %s: accepted as %q, want refused", tt.aud, id.Subject)
		case !tt.valid && !errors.Is(err, ErrInvalidToken):
			t.Errorf("aud %s: %v, want ErrInvalidToken", tt.aud, err)
		}
	}
}
