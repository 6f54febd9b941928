package directory

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestErrorsNeverQuoteTheToken: a non-200 answer's message is quoted in the
// error (and so in the log). A directory, or a firewall, proxy or debug page
// in front of it, that echoes the request it refused puts the bearer token
// it was sent in that message: the user's GitHub or Graph token, or the
// service account's Google token, which reads every group of the domain.
// The docs promise that no token appears in logs or errors.
func TestErrorsNeverQuoteTheToken(t *testing.T) {
	const userToken, saToken = "gho_usertoken0123456789", "ya29.serviceaccounttoken0123456789"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"access_token":"` + saToken + `","token_type":"Bearer","expires_in":3600}`))
			return
		}
		echo := "refused request with Authorization: " + r.Header.Get("Authorization")
		w.WriteHeader(http.StatusForbidden)
		_, _ = w.Write([]byte(`{"message":"` + echo + `","error":{"message":"` + echo + `"}}`))
	}))
	defer srv.Close()
	gh, _ := NewGitHub(srv.URL, nil)
	gr, _ := NewGraph(srv.URL, nil)
	ga, _ := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, srv.URL+"/token"), AdminEmail: "admin@acme.com", BaseURL: srv.URL})
	ci, _ := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, srv.URL+"/token"), BaseURL: srv.URL})
	for name, src := range map[string]Source{"github": gh, "graph": gr, "google admin sdk": ga, "google cloud identity": ci} {
		_, err := src.Groups(context.Background(), User{Email: "ann@acme.com", AccessToken: userToken})
		if err == nil {
			t.Fatalf("%s: no error", name)
		}
		for _, tok := range []string{userToken, saToken} {
			if strings.Contains(err.Error(), tok[:12]) {
				t.Errorf("%s: the error quotes a token: %v", name, err)
			}
		}
		if !strings.Contains(err.Error(), "refused request with Authorization: Bearer [redacted]") {
			t.Errorf("%s: the rest of the message is lost: %v", name, err)
		}
	}
}

// TestGoogleGrantErrorNeverQuotesTheAssertion: a refused service-account
// grant is explained by its OAuth error code, which x/oauth2/jwt leaves in
// the raw body; the gateway read the body's "error" member and quoted it
// whole. A token endpoint (or a proxy before it) that echoes the request
// in it put the signed assertion, which buys a token that reads every
// group of the domain for an hour, in the error and the log, at any length.
func TestGoogleGrantErrorNeverQuotesTheAssertion(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		echo := "bad request: assertion=" + r.PostForm.Get("assertion") + strings.Repeat(" padding", 20000)
		_, _ = w.Write([]byte(`{"error":"` + echo + `"}`))
	}))
	defer srv.Close()
	g, err := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, srv.URL+"/token"), BaseURL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Groups(context.Background(), User{Email: "ann@acme.com"})
	if err == nil {
		t.Fatal("no error")
	}
	if strings.Contains(err.Error(), "assertion=eyJ") {
		t.Errorf("the error quotes the signed assertion: %.300s", err)
	}
	if len(err.Error()) > 1024 {
		t.Errorf("the error is %d bytes long", len(err.Error()))
	}
	if !strings.Contains(err.Error(), "400") {
		t.Errorf("the error does not say the status: %.300s", err)
	}
}
