package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestRedTeamRequestTrailers: identity and request-naming fields that a
// client sends as trailers of a chunked request body never reach the
// upstream, whose server may merge trailers into the header (Apache
// httpd did before MergeTrailers, CVE-2013-5704).
func TestRedTeamRequestTrailers(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	var mu sync.Mutex
	var got http.Header
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		mu.Lock()
		got = r.Trailer.Clone()
		mu.Unlock()
	}))
	defer app.Close()
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, app.URL, "", "[[routes]]\npath = \"/**\"\npublic = true\n"))
	host := strings.TrimPrefix(gw.URL, "http://")
	status, body := rawDo(t, host, "POST /public/x HTTP/1.1\r\nHost: "+host+"\r\nContent-Type: text/plain\r\n"+
		"Transfer-Encoding: chunked\r\nTrailer: X-Forwarded-User, X-Forwarded-Groups, X-Original-URL, X-Trace\r\n\r\n"+
		"5\r\nhello\r\n0\r\nX-Forwarded-User: mallory\r\nX-Forwarded-Groups: admins\r\nX-Original-URL: /admin/x\r\n"+
		"X_Forwarded_User: mallory\r\nX-Trace: t1\r\n\r\n")
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d %s; trailers at the app: %v", status, body, got)
	for k, vs := range got {
		if v := strings.Join(vs, ","); strings.Contains(v, "mallory") || strings.Contains(v, "admin") {
			t.Errorf("the app received the client's trailer %s: %s", k, v)
		}
	}
}
