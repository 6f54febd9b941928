package e2e

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// startCGI runs e2e/testdata/cgi/server.pl, which runs a CGI.pm script
// with the environment Apache's mod_cgi gives it, until the test ends, and
// returns its URL. CGI.pm is Debian's libcgi-pm-perl (scripts/test.sh).
func startCGI(tb testing.TB) string {
	tb.Helper()
	perl := testenv.LookPath(tb, "perl")
	if err := exec.Command(perl, "-MCGI", "-e1").Run(); err != nil {
		msg := "cgi: Perl's CGI.pm is not installed (libcgi-pm-perl)"
		if testenv.Required() {
			tb.Fatal(msg + " (PORTCULLIS_REQUIRE_TOOLS=1)")
		}
		tb.Skip(msg)
	}
	addr := testenv.Addr(testenv.FreePort(tb))
	_, port, _ := strings.Cut(addr, ":")
	p := testenv.Start(tb, exec.Command(perl, filepath.Join("testdata", "cgi", "server.pl"), port))
	testenv.WaitTCP(tb, addr, 10*time.Second, p)
	return "http://" + addr
}

// TestCGIActsOnWhatWasDecided puts a real CGI.pm script behind the
// gateway. CGI.pm reads the body of a PUT or PATCH without a Content-Type
// as a URL-encoded form, as Rack does a POST's, so its param('access_token')
// took a token from such a body, which the gateway did not read: it is a
// 400 now, as in a typed form; a PUT of other bytes without a type passes.
// The same application guards the docs' other claims about CGI.pm: a type
// that only begins with the form's is a form, and %u005F is "_".
func TestCGIActsOnWhatWasDecided(t *testing.T) {
	t.Parallel()
	gw, ck := frameworkGateway(t, "cgi", startCGI(t), false)
	const form = "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		method, query, ctype, body string
		want                       int
	}{
		{method: "PUT", body: "a=1;b=2", want: http.StatusOK},
		{method: "PUT", body: "notes: access_token is refused", want: http.StatusOK},
		{method: "PUT", body: "a=1;access_token=tok", want: http.StatusBadRequest},
		{method: "PATCH", body: "access_token=tok", want: http.StatusBadRequest},
		{method: "POST", body: "access_token=tok", want: http.StatusBadRequest},
		{method: "POST", ctype: form + "x", body: "access_token=tok", want: http.StatusBadRequest},
		{method: "GET", query: "access%u005Ftoken=tok", want: http.StatusBadRequest},
	} {
		code, got := askApp(t, tc.method, gw.URL+"/items/1?"+tc.query, tc.ctype, tc.body, ck)
		if code != tc.want || code == http.StatusOK && got.Method != tc.method {
			t.Errorf("%s ?%s (%q) %q: %d (CGI.pm read %q with params %v); want %d",
				tc.method, tc.query, tc.ctype, tc.body, code, got.Method, got.Params, tc.want)
		}
	}
}
