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

// startRack runs e2e/testdata/rack/config.ru under rackup (Debian's
// ruby-rack, WEBrick) until the test ends, and returns its URL.
func startRack(tb testing.TB) string {
	tb.Helper()
	rackup := testenv.LookPath(tb, "rackup")
	addr := testenv.Addr(testenv.FreePort(tb))
	host, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(rackup, "-s", "webrick", "-o", host, "-p", port,
		filepath.Join("testdata", "rack", "config.ru"))
	p := testenv.Start(tb, cmd)
	testenv.WaitTCP(tb, addr, 20*time.Second, p)
	return "http://" + addr
}

// TestRackActsOnWhatWasDecided puts a real Rack application behind the
// gateway. Rack files a parameter under its name up to the first "[" or
// "]" after the leading brackets (normalize_params), so to Rack
// ?access_token]x=T is a map named access_token, which Doorkeeper reads
// from params; the gateway read "access_tokenx" and forwarded it. It is a
// 400 now, as access_token[x] is; names Rack files elsewhere still pass,
// and a form's _method is still decided.
func TestRackActsOnWhatWasDecided(t *testing.T) {
	t.Parallel()
	gw, ck := frameworkGateway(t, "rack", startRack(t), true)
	for _, tc := range []struct {
		query, form string
		want        int
	}{
		{query: "tags[0]=a&access[token]=b", form: "x]y=1", want: http.StatusOK},
		{form: "_method=delete", want: http.StatusForbidden},
		{query: "access_token]x=tok", want: http.StatusBadRequest},
		{query: "]access_token]]x=tok", want: http.StatusBadRequest},
		{form: "access_token]x=tok", want: http.StatusBadRequest},
	} {
		code, got := postForm(t, gw.URL+"/items/1?"+tc.query, tc.form, ck)
		if code != tc.want || code == http.StatusOK && got.Method != http.MethodPost {
			t.Errorf("POST ?%s with %q: %d (Rack dispatched %q with params %v); want %d",
				tc.query, tc.form, code, got.Method, got.Params, tc.want)
		}
	}
}
