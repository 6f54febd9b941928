package e2e

import (
	"net/http"
	"testing"
)

// TestKoaParsesWhatWasDecided puts a real Koa application behind the
// gateway. koa-bodyparser parses forms with co-body, which turns on qs's
// allowDots: "access_token.x" is a map named access_token, "access_token.0"
// a list and ".access_token" the name itself, each the handler's
// ctx.request.body.access_token. The gateway read the dots as PHP's
// underscores ("access_token_x") and let them through; a name is now also
// read as qs reads it with dots as brackets: a 400. koa-bodyparser also
// parses a body of type application/csp-report as JSON, which the gateway
// did not read: its access_token passed; it is now read as JSON.
func TestKoaParsesWhatWasDecided(t *testing.T) {
	t.Parallel()
	gw, ck := frameworkGateway(t, "koa", startNodeApp(t, "koa", "koa-bodyparser"), false)
	const form, csp = "application/x-www-form-urlencoded", "application/csp-report"
	for _, tc := range []struct {
		method, ctype, body string
		want                int
	}{
		{http.MethodPut, form, "item.name=x&access=y", http.StatusOK},
		{http.MethodPut, form, "access_token.x=tok", http.StatusBadRequest},
		{http.MethodPost, form, "access_token.0=tok", http.StatusBadRequest},
		{http.MethodPatch, form, ".access_token=tok", http.StatusBadRequest},
		{http.MethodPut, form, "access_token%2Ex=tok", http.StatusBadRequest},
		{http.MethodPost, csp, `{"csp-report":{"document-uri":"https://a.example/"}}`, http.StatusOK},
		{http.MethodPut, csp, `{"access_token":"tok"}`, http.StatusBadRequest},
	} {
		code, got := askApp(t, tc.method, gw.URL+"/items/1", tc.ctype, tc.body, ck)
		if code != tc.want {
			t.Errorf("%s %q: %d (Koa parsed %v); want %d", tc.method, tc.body, code, got.Params, tc.want)
		}
		if _, ok := got.Params["access_token"]; code == http.StatusOK && ok {
			t.Errorf("%s %q: Koa parsed an access_token: %v", tc.method, tc.body, got.Params)
		}
	}
}
