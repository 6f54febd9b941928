package idp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// answerTransport answers the introspection endpoint with the answer set
// last and passes every other request on.
type answerTransport struct {
	answer atomic.Pointer[introspectionReply]
}

type introspectionReply struct {
	status int
	body   []byte
}

func (a *answerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Path != "/introspect" {
		return http.DefaultTransport.RoundTrip(r)
	}
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	rep := a.answer.Load()
	return &http.Response{StatusCode: rep.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(rep.body)), Request: r, ContentLength: int64(len(rep.body))}, nil
}

// FuzzIntrospectionAnswer: whatever the introspection endpoint answers, an
// identity comes only from a 200 whose body is a JSON object with active
// the JSON boolean true (RFC 7662 §2.2) and an exp in the future; any
// other answer (active false, "true", 1, absent, null; not JSON) is an
// error that wraps exactly one of ErrInvalidToken (the token's fault) or
// ErrUnavailable (the provider's), and never panics.
func FuzzIntrospectionAnswer(f *testing.F) {
	at := &answerTransport{}
	_, c, clk := setup(f, oidctest.Options{}, func(cfg *Config) { cfg.HTTPClient = &http.Client{Transport: at} })
	exp := itoa(clk.Now().Unix() + 60)
	for _, s := range []string{
		`{"active":true,"sub":"svc","aud":"client","exp":` + exp + `}`,
		`{"active":false,"sub":"svc","aud":"client","exp":` + exp + `}`,
		`{"active":"true","sub":"svc","aud":"client","exp":` + exp + `}`,
		`{"active":1,"sub":"svc","client_id":"client","exp":` + exp + `}`,
		`{"active":true,"active":false,"sub":"svc","aud":"client","exp":` + exp + `}`,
		`{"active":true,"sub":"svc","aud":"client","exp":"` + exp + `"}`,
		`{"active":true,"sub":"svc","aud":"client","exp":` + exp + `,"token_type":"refresh_token"}`,
		`{"active":true,"sub":"svc","aud":"client","exp":` + exp + `,"cnf":{"jkt":"x"}}`,
		`{"sub":"svc","aud":"client","exp":` + exp + `}`, `null`, `[]`, `{"active":null}`, ``,
	} {
		f.Add(200, []byte(s))
	}
	// The harness itself: an honest answer gives the identity.
	at.answer.Store(&introspectionReply{status: 200, body: []byte(`{"active":true,"sub":"svc","aud":"client","exp":` + exp + `}`)})
	if id, err := c.introspect(context.Background(), "opaque-token"); err != nil || id.Subject != "svc" {
		f.Fatalf("an honest answer: %+v, %v", id, err)
	}
	f.Add(401, []byte(`{"active":true,"sub":"svc","aud":"client","exp":`+exp+`}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 999 {
			status = 200
		}
		at.answer.Store(&introspectionReply{status: status, body: body})
		id, err := c.introspect(context.Background(), "opaque-token")
		if err != nil {
			if id != nil {
				t.Fatalf("an identity with an error: %+v, %v", id, err)
			}
			if errors.Is(err, ErrInvalidToken) == errors.Is(err, ErrUnavailable) {
				t.Fatalf("err %v wraps both or neither of ErrInvalidToken and ErrUnavailable", err)
			}
			return
		}
		var claims map[string]any
		if status != http.StatusOK || json.Unmarshal(body, &claims) != nil || claims == nil {
			t.Fatalf("an identity from answer %d %q", status, body)
		}
		if active, ok := claims["active"].(bool); !ok || !active {
			t.Fatalf("an identity from an answer whose active is %#v: %s", claims["active"], body)
		}
		if id == nil || !id.Expiry.After(clk.Now()) {
			t.Fatalf("identity %+v from %s", id, body)
		}
	})
}
