package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// The tests of real frameworks as upstreams (Express, Koa, Rack, CGI.pm,
// gin, echo) put one behind the gateway on /items/**, sign alice in, and
// compare what the framework says it acted on (appBelief) with what the
// gateway decided.

// startNodeApp runs e2e/testdata/NAME/app.js until the test ends and
// returns its URL. Its node_modules, which must hold module, come from
// `npm ci` there (scripts/test.sh).
func startNodeApp(tb testing.TB, name, module string) string {
	tb.Helper()
	node := testenv.LookPath(tb, "node")
	dir, err := filepath.Abs(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", module)); err != nil {
		msg := name + ": not installed; run `npm ci` in " + dir
		if testenv.Required() {
			tb.Fatal(msg + " (PORTCULLIS_REQUIRE_TOOLS=1)")
		}
		tb.Skip(msg)
	}
	addr := testenv.Addr(testenv.FreePort(tb))
	_, port, _ := strings.Cut(addr, ":")
	cmd := exec.Command(node, "app.js", port)
	cmd.Dir = dir
	p := testenv.Start(tb, cmd)
	testenv.WaitTCP(tb, addr, 10*time.Second, p)
	return "http://" + addr
}

// frameworkGateway starts a gateway that sends /items/** to the
// application at appURL (upstream name: a framework, or a recording
// upstream whose requests a test counts), signs alice in and returns it
// with her session cookie. With writersDelete, a DELETE there is for the
// group writers only, which alice is not in: a POST the framework
// dispatches as a DELETE must be decided as one.
func frameworkGateway(t *testing.T, name, appURL string, writersDelete bool) (*gateway, *http.Cookie) {
	t.Helper()
	p := oidctest.New(t, oidctest.Options{})
	routes := "[[routes]]\npath = \"/items/**\"\nupstream = \"" + name + "\"\n\n" +
		"[[routes]]\npath = \"/**\"\nupstream = \"app\"\n"
	if writersDelete {
		routes = "[[routes]]\npath = \"/items/**\"\nmethods = [\"DELETE\"]\nallow_groups = [\"writers\"]\n" +
			"upstream = \"" + name + "\"\n\n" + routes
	}
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: newUpstream(t).URL, // the sign-in lands here
		Extra:    "[[upstreams]]\nname = \"" + name + "\"\nurl = \"" + appURL + "\"\n",
		Routes:   routes,
	}.String())
	c := browser(t)
	loginThrough(t, c, gw, "alice")
	return gw, sessionCookie(t, c, gw)
}
