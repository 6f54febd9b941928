package proxy

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/session"
)

// TestUnprefixedGatewayCookiesKeptFromApp: with cookie_name set to
// "__Secure-portcullis" (as check advises with a cookie_domain on https), a
// browser still holds "portcullis", its chunks and login states from
// before the rename, or had them planted over plain http. The gateway
// opens none of them, but they held sessions: they never reach the app,
// and the app's own cookies do.
func TestUnprefixedGatewayCookiesKeptFromApp(t *testing.T) {
	f := newFixture(t, func(c *Config) {
		useCookieStore(t, c, session.CookieConfig{Name: "__Secure-portcullis", Domain: "example.com", Secure: true,
			Lifetime: 12 * time.Hour, Now: c.Now})
	})
	resp := f.do(t, "GET", "/public/x", nil,
		withHeader("Cookie", "theme=dark; portcullis=old; portcullis_1=chunk; portcullis_login_abc=state; portcullisx=1"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: %s", resp.StatusCode, readBody(t, resp))
	}
	if got := f.up.last(t).Header.Get("Cookie"); got != "theme=dark; portcullisx=1" {
		t.Errorf("Cookie upstream = %q, want the app's cookies alone", got)
	}
	if strings.Contains(strings.Join(resp.Header["Set-Cookie"], "\n"), "__Secure-portcullis=") {
		t.Errorf("an unprefixed cookie was read as a session: %q", resp.Header["Set-Cookie"])
	}
}
