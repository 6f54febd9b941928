package e2e

import (
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// nfkcApp is a Node application that serves the path its request names
// decoded and normalised to NFKC, as frameworks that apply NFKC to paths
// do, with Node's Unicode (17, with ICU 78): it answers the path it serves.
const nfkcApp = `require("http").createServer((q, s) => {
  s.setHeader("content-type", "application/json");
  s.end(JSON.stringify({served: decodeURIComponent(q.url.split("?")[0]).normalize("NFKC")}));
}).listen(+process.argv[1], "127.0.0.1");`

// startNFKCApp runs nfkcApp until the test ends and returns its URL.
func startNFKCApp(t *testing.T) string {
	t.Helper()
	node := testenv.LookPath(t, "node")
	port := testenv.FreePort(t)
	p := testenv.Start(t, exec.Command(node, "-e", nfkcApp, strconv.Itoa(port)))
	testenv.WaitTCP(t, testenv.Addr(port), 10*time.Second, p)
	return "http://" + testenv.Addr(port)
}

// TestNewerUnicodePathLookalikeRefused: the path rule refuses a character
// that NFKC makes ASCII, but judged it with the gateway's Unicode 15.0,
// where the outlined digit one (U+1CCF1, added in Unicode 16) has no
// decomposition: /v%F0%9C%B3%B1/secret missed the route denying /v1/**,
// went out under the public /** (200), and the app served it as
// /v1/secret. It is now refused (400) as the fullwidth "１" is.
func TestNewerUnicodePathLookalikeRefused(t *testing.T) {
	t.Parallel() // its own gateway and app
	app := startNFKCApp(t)
	p := oidctest.New(t, oidctest.Options{})
	routes := "[[routes]]\npath = \"/v1/**\"\ndeny = true\n\n[[routes]]\npath = \"/**\"\npublic = true\n"
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, app, "", routes))
	for _, target := range []string{"/v%EF%BC%91/secret", "/v%F0%9C%B3%B1/secret"} {
		resp, err := plainClient.Get(gw.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400: %.200s", target, resp.StatusCode, body)
		}
	}
	if status, body, _ := get(t, plainClient, gw.URL+"/v2/open"); status != 200 || body != `{"served":"/v2/open"}` {
		t.Errorf("/v2/open: %d %s", status, body)
	}
}
