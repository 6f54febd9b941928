package e2e

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/portcullis/portcullis/internal/oidctest"
)

// unlabelledUpload is a user's upload as a file-sharing application serves
// it back: with X-Content-Type-Options: nosniff and no Content-Type (it
// does not know the type), so that no browser runs it as a page. Its
// script would retitle the document were it run as HTML.
const unlabelledUpload = "<html><script>document.title='ran'</script>uploaded"

// newUnlabelledApp is that application: every path answers the upload.
func newUnlabelledApp(t *testing.T) *httptest.Server {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header()["Content-Type"] = nil // Go's server would sniff one
		io.WriteString(w, unlabelledUpload)
	}))
	t.Cleanup(app.Close)
	return app
}

// TestUnlabelledAnswerKeepsNoContentType: an application's answer without
// a Content-Type reaches the client without one, on a public route and
// signed in, as it does from the application directly. The gateway's
// server labelled it from its first bytes ("text/html; charset=utf-8" for
// an upload that starts with <html>), over the application's nosniff: the
// browser ran as a page, on the gateway's origin, a file the application
// served so that none would. Chromium shows the upload as text directly
// and must show it as text through the gateway too.
func TestUnlabelledAnswerKeepsNoContentType(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	app := newUnlabelledApp(t)
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, app.URL, "", publicAndSignedIn))
	c := browser(t)
	if status, _, _ := get(t, c, gw.URL+"/app/home"); status != http.StatusOK {
		t.Fatalf("sign-in: %d", status)
	}
	ck := sessionCookie(t, c, gw)
	for _, u := range []string{app.URL + "/files/1", gw.URL + "/public/files/1", gw.URL + "/files/1"} {
		req, _ := http.NewRequest("GET", u, nil)
		req.AddCookie(&http.Cookie{Name: ck.Name, Value: ck.Value})
		resp, err := plainClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if ct, ok := resp.Header["Content-Type"]; ok || string(body) != unlabelledUpload {
			t.Errorf("GET %s: %d, Content-Type %q (present %v), body %q; want none, as the application sent it",
				u, resp.StatusCode, ct, ok, body)
		}
	}
	unlabelledInChromium(t, gw, app.URL)
	unlabelledOverHTTP2(t, p, app.URL)
}

// unlabelledOverHTTP2 asks a TLS gateway for the upload over HTTP/2, whose
// server in Go labels an answer the same way.
func unlabelledOverHTTP2(t *testing.T, p *oidctest.Provider, app string) {
	t.Helper()
	kp := newKeyPair(t, "127.0.0.1")
	vol := newSecretVolume(t, kp)
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		PublicURL: "https://{{LISTEN}}",
		Server: "tls_cert_file = \"" + filepath.Join(vol.dir, "tls.crt") + "\"\n" +
			"tls_key_file = \"" + filepath.Join(vol.dir, "tls.key") + "\"\n",
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: app,
		Routes:   "[[routes]]\npath = \"/**\"\npublic = true\n",
	}.String())
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(kp.certPEM)
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	u := strings.Replace(gw.URL, "http://", "https://", 1) + "/files/1"
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ct, ok := resp.Header["Content-Type"]; resp.ProtoMajor != 2 || ok || string(body) != unlabelledUpload {
		t.Errorf("GET %s over %s: Content-Type %q (present %v), body %q; want HTTP/2 and none", u, resp.Proto, ct, ok, body)
	}
}

// unlabelledInChromium opens the upload in Chromium, from the application
// and through the gateway (signing in on the way), and checks that its
// script never ran.
func unlabelledInChromium(t *testing.T, gw *gateway, app string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(newChromium(t), 90*time.Second)
	defer cancel()
	for _, u := range []string{app + "/files/1", gw.URL + "/public/files/1", gw.URL + "/files/1"} {
		s := open(t, ctx, u)
		title, err := chromedp.Run(ctx, chromedp.Evaluate[string]("document.title"))
		if err != nil {
			t.Fatalf("title of %s: %v", u, err)
		}
		if title == "ran" || s.URL != u {
			t.Errorf("Chromium at %s (%s): the upload ran as a page (title %q, text %q)", u, s.URL, title, s.Text)
		}
	}
}
