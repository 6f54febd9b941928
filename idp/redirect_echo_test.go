package idp

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestRedirectErrorsNeverQuoteLocation: Go's client reports a redirect it
// was told not to follow with an error whose URL is the Location, whole,
// and the gateway logs the error. A provider, or a proxy or debug page in
// front of it, that echoes the refused request into Location (the refresh
// token, the PKCE verifier, the client secret of the form or of Basic, a
// bearer token sent for introspection) put them in the log, as an echoing
// error body would.
func TestRedirectErrorsNeverQuoteLocation(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{ClientSecret: "cs-5bV0qk2LrTz8wXe4Ny7Jm1Hd"}, nil)
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	opaque := p.OpaqueToken("alice", p.ClientID, "", clk.Now().Add(time.Hour))
	secrets := []string{toks.RefreshToken, toks.AccessToken, opaque, testVerifier, p.ClientSecret}
	// The Location of every redirect echoes them all, in its path, query
	// and fragment.
	echo := "https://echo.example/" + toks.AccessToken + "?refresh_token=" + toks.RefreshToken +
		"&code_verifier=" + testVerifier + "&client_secret=" + p.ClientSecret + "&token=" + opaque + "#" + opaque
	calls := map[string]func() error{
		"/token exchange": func() error {
			_, _, err := login(t, c)
			return err
		},
		"/token refresh": func() error {
			_, _, err := c.Refresh(context.Background(), toks.RefreshToken, id)
			return err
		},
		"/revoke": func() error { return c.Revoke(context.Background(), toks.RefreshToken) },
		"/introspect": func() error {
			_, err := c.VerifyBearer(context.Background(), opaque)
			return err
		},
		"/userinfo": func() error {
			_, _, err := login(t, c)
			return err
		},
	}
	for name, call := range calls {
		path, _, _ := strings.Cut(name, " ")
		for _, status := range []int{http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			p.SetRedirect(path, status, echo)
			err := call()
			p.SetRedirect(path, 0, "")
			if err == nil || !strings.Contains(err.Error(), ErrRedirect.Error()) {
				t.Errorf("%s, %d: err = %v, want it to say the provider redirected", name, status, err)
				continue
			}
			for _, s := range secrets {
				if strings.Contains(err.Error(), s[:12]) || strings.Contains(err.Error(), s[len(s)-12:]) {
					t.Errorf("%s, %d: the error quotes %.12s…: %v", name, status, s, err)
				}
			}
			if strings.Contains(err.Error(), "echo.example") {
				t.Errorf("%s, %d: the error quotes the Location: %v", name, status, err)
			}
		}
	}
}
