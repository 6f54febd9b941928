package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// startExpress runs e2e/testdata/express/app.js, an Express application
// with method-override as its README sets it up.
func startExpress(tb testing.TB) string { return startNodeApp(tb, "express", "method-override") }

// appBelief is what an application (Express, Rack, CGI.pm) says it acted on.
type appBelief struct {
	Method string         `json:"method"`
	Path   string         `json:"path"`
	Query  map[string]any `json:"query"`  // Express
	Body   map[string]any `json:"body"`   // Express
	Params map[string]any `json:"params"` // Rack, CGI.pm
}

// postForm sends a signed-in POST of a URL-encoded form and returns the
// status and, when the application answered, what it believed.
func postForm(t *testing.T, url, form string, ck *http.Cookie) (int, appBelief) {
	t.Helper()
	return askApp(t, http.MethodPost, url, "application/x-www-form-urlencoded", form, ck)
}

// askApp sends a signed-in request with a body of type ctype (none when
// "") and returns the status and, when the application answered, what it
// believed.
func askApp(t *testing.T, method, url, ctype, body string, ck *http.Cookie) (int, appBelief) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.AddCookie(ck)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var got appBelief
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%s %s: not the application's answer: %s", method, url, b)
		}
	}
	return resp.StatusCode, got
}

// TestExpressActsOnWhatWasDecided puts a real Express application behind
// the gateway. Express's forms (qs) read "_method[0]" as a list and
// method-override takes a list's first value, so a POST of
// _method[0]=DELETE was a DELETE to Express; the gateway dropped only the
// brackets, read "_method0", and decided a POST alone: a user whom the
// routes refuse DELETE deleted. Likewise access_token[0], in the query or
// the form, is Express's req.query.access_token (PHP's and Rack's
// access_token too), which passed. Both are now read as the name before
// the brackets: a 403 and a 400; other indexed fields still pass.
func TestExpressActsOnWhatWasDecided(t *testing.T) {
	t.Parallel()
	gw, ck := frameworkGateway(t, "express", startExpress(t), true)
	for _, form := range []string{"a=1", "tags[0]=a&tags[1]=b", "access[0]=x"} {
		code, got := postForm(t, gw.URL+"/items/1", form, ck)
		if code != http.StatusOK || got.Method != http.MethodPost {
			t.Errorf("POST %q: %d, Express dispatched %q; want 200, a POST", form, code, got.Method)
		}
	}
	for _, tc := range []struct {
		query, form string
		want        int
	}{
		{form: "_method[0]=DELETE", want: http.StatusForbidden},
		{form: "_method%5B0%5D=delete", want: http.StatusForbidden},
		{form: "a=1&_method[1]=DELETE", want: http.StatusForbidden},
		{query: "access_token[0]=tok", want: http.StatusBadRequest},
		{query: "access_token%5B0%5D=tok", want: http.StatusBadRequest},
		{form: "access_token[0]=tok", want: http.StatusBadRequest},
		{form: "access_token[x][0]=tok", want: http.StatusBadRequest},
	} {
		code, got := postForm(t, gw.URL+"/items/1?"+tc.query, tc.form, ck)
		if code != tc.want {
			t.Errorf("POST ?%s with %q: %d (Express dispatched %q, query %v, body %v); want %d",
				tc.query, tc.form, code, got.Method, got.Query, got.Body, tc.want)
		}
	}
}
