package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// subrequest is what a front proxy's auth subrequest carried.
type subrequest struct {
	method, host, fwdMethod, origMethod, fwdHost string
}

// recordingAuth stands in for the gateway's forward-auth endpoint: it
// answers 200 and keeps what each subrequest carried.
type recordingAuth struct {
	*httptest.Server
	mu   sync.Mutex
	last subrequest
}

func newRecordingAuth(tb testing.TB, listen string) *recordingAuth {
	ra := &recordingAuth{}
	ra.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ra.mu.Lock()
		ra.last = subrequest{r.Method, r.Host, r.Header.Get("X-Forwarded-Method"),
			r.Header.Get("X-Original-Method"), r.Header.Get("X-Forwarded-Host")}
		ra.mu.Unlock()
	}))
	l, err := net.Listen("tcp", listen)
	if err != nil {
		tb.Fatal(err)
	}
	ra.Listener.Close()
	ra.Listener = l
	ra.Start()
	tb.Cleanup(ra.Close)
	return ra
}

func (ra *recordingAuth) take() subrequest {
	ra.mu.Lock()
	defer ra.mu.Unlock()
	s := ra.last
	ra.last = subrequest{}
	return s
}

// TestForwardAuthSubrequestMethodAndHost pins what the real front proxies'
// auth subrequests carry, on which the gateway's rules about the
// subrequest's own method and Host rest (proxy/original.go): every one is a
// GET whatever the original method (nginx's auth_request too, so the
// documented nginx snippet, ingress-nginx's and a config written for
// oauth2-proxy), and its Host is the gateway's own address (the nginx and
// Traefik snippets, ingress-nginx's auth-url host) or the original's
// (Caddy; an nginx auth location with "Host $host"), never a third host.
// Envoy's ext_authz, not run here, sends the original method and Host.
func TestForwardAuthSubrequestMethodAndHost(t *testing.T) {
	up := newUpstream(t)
	app := strings.TrimPrefix(up.URL, "http://")
	const gateway, original = "the gateway's address", "the original host"
	for _, fp := range []struct {
		name  string
		start func(tb testing.TB, listen, gateway, app string)
		host  string
	}{
		{"nginx", startNginx, gateway},
		{"ingress-nginx", startIngressNginx, "portcullis.portcullis.svc.cluster.local"},
		{"caddy", startCaddy, original},
		{"traefik", startTraefik, gateway},
		{"oauth2-proxy nginx", func(tb testing.TB, listen, gateway, app string) {
			runNginx(tb, listen, fmt.Sprintf(oauth2ProxyNginxServer, listen, gateway, app))
		}, "127.0.0.1"},
	} {
		t.Run(fp.name, func(t *testing.T) {
			front := testenv.Addr(testenv.FreePort(t))
			gw := testenv.Addr(testenv.FreePort(t))
			ra := newRecordingAuth(t, gw)
			fp.start(t, front, gw, app)
			want := map[string]string{gateway: gw, original: front}[fp.host]
			if want == "" {
				want = fp.host
			}
			for _, m := range []string{"GET", "HEAD", "POST", "PUT", "OPTIONS", "DELETE"} {
				ra.take()
				status, _ := send(t, browser(t), m, "http://"+front+"/res/x", nil)
				s := ra.take()
				if s.method != "GET" || s.host != want {
					t.Errorf("%s: %d, the subrequest was %s with Host %q, want GET with %q (%s)", m, status, s.method, s.host, want, fp.host)
				}
			}
		})
	}
}
