package e2e

import (
	"net/http"
	"testing"
)

// TestEchoBindsWhatWasDecided puts a real echo application behind the
// gateway. echo's Bind matches a form field or query parameter to a
// struct field's name with strings.EqualFold, which folds Unicode: a PUT
// of acce%C5%BFs_token=… (the long s) or a GET of ?access_to%E2%84%AAen=…
// (the Kelvin sign) filled the handler's access_token, where the gateway
// compared names in ASCII case and let them through. Both are now a 400.
func TestEchoBindsWhatWasDecided(t *testing.T) {
	t.Parallel()
	gw, ck := frameworkGateway(t, "echo", startGoApp(t, "echo"), false)
	const form = "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		method, query, ctype, body string
		want                       int
	}{
		{http.MethodPut, "", form, "access=x&token=y", http.StatusOK},
		{http.MethodPut, "", form, "ACCESS_TOKEN=tok", http.StatusBadRequest},
		{http.MethodPut, "", form, "acce%C5%BFs_token=tok", http.StatusBadRequest},
		{http.MethodPost, "", form, "access_to%E2%84%AAen=tok", http.StatusBadRequest},
		{http.MethodGet, "acce%C5%BFs_token=tok", "", "", http.StatusBadRequest},
		{http.MethodDelete, "access_to%E2%84%AAen=tok", "", "", http.StatusBadRequest},
		{http.MethodGet, "acce\u017fs_token=tok", "", "", http.StatusBadRequest}, // the long s raw
	} {
		code, got := askApp(t, tc.method, gw.URL+"/items/1?"+tc.query, tc.ctype, tc.body, ck)
		if code != tc.want {
			t.Errorf("%s ?%s %q: %d (echo bound %v); want %d", tc.method, tc.query, tc.body,
				code, got.Params, tc.want)
		}
		if tok, _ := got.Params["access_token"].(string); code == http.StatusOK && tok != "" {
			t.Errorf("%s ?%s %q: echo bound the access_token %q", tc.method, tc.query, tc.body, tok)
		}
	}
}
