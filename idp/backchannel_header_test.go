package idp

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/idp/directory"
	"github.com/prometheus/client_golang/prometheus"
)

// TestBackChannelAnswerHeadersBounded: the bodies of provider answers are
// read up to 1 MiB, but Go's transport reads an answer's header section
// up to 10 MiB by default, a bound the gateway had not chosen: a provider
// (or whatever answers for it) cost that much memory per call, and
// concurrent calls (introspection of as many unknown tokens) multiplied
// it. Here the discovery answer carries 4 MiB of headers, and was accepted.
func TestBackChannelAnswerHeadersBounded(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		filler := strings.Repeat("x", 64<<10)
		for i := range 64 {
			w.Header().Set(fmt.Sprintf("X-Filler-%d", i), filler)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%[1]s/authorize",`+
			`"token_endpoint":"%[1]s/token","jwks_uri":"%[1]s/jwks",`+
			`"id_token_signing_alg_values_supported":["RS256"]}`, srv.URL)
	}))
	defer srv.Close()
	c, err := New(Config{Issuer: srv.URL, ClientID: "c", ClientSecret: "s",
		RedirectURL: redirectURL, Metrics: prometheus.NewRegistry()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	err = c.Discover(context.Background())
	if err == nil {
		t.Fatal("Discover accepted an answer with 4 MiB of headers")
	}
	if !strings.Contains(err.Error(), "header") {
		t.Errorf("Discover: %v, want it to name the headers", err)
	}
}

// TestDirectoryAnswerHeadersBounded: the group directories (GitHub here;
// Graph and Google's are built the same way) are called with the provider's
// transport, so their answers' headers are bounded too. Without tracing no
// client is configured, and the directory's own client fell back to Go's
// default transport, which read 4 MiB of headers and the groups after them.
func TestDirectoryAnswerHeadersBounded(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		filler := strings.Repeat("x", 64<<10)
		for i := range 64 {
			w.Header().Set(fmt.Sprintf("X-Filler-%d", i), filler)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `[{"slug":"devs","organization":{"login":"acme"}}]`)
	}))
	defer srv.Close()
	d, err := newDirectory(&Config{Kind: "github", GitHubAPIURL: srv.URL})
	if err != nil {
		t.Fatalf("newDirectory: %v", err)
	}
	groups, err := d.source.Groups(context.Background(), directory.User{Subject: "1", AccessToken: "gho_x"})
	if err == nil {
		t.Fatalf("the directory's answer with 4 MiB of headers was read: groups %v", groups)
	}
	if !strings.Contains(err.Error(), "header") {
		t.Errorf("Groups: %v, want it to name the headers", err)
	}
}
