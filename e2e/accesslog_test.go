package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestAccessLogSurvivesSIGTERM: the access log is buffered (one line per
// request costs no write of its own), yet every line of every request
// answered before SIGTERM is in the output once the process has exited.
func TestAccessLogSurvivesSIGTERM(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{JWTAccessTokens: true})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: up.URL, Extra: "[log]\nformat = \"json\"\n", Routes: "[[routes]]\npath = \"/**\"\n"}.String())
	tok := p.AccessToken("alice", nil)
	const n = 40
	for i := 0; i < n; i++ {
		req, _ := http.NewRequest("GET", gw.URL+"/line-"+strconv.Itoa(i), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := plainClient.Do(req)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("request %d: %v %v", i, resp, err)
		}
		resp.Body.Close()
	}
	gw.signal(t, syscall.SIGTERM)
	select {
	case <-gw.Proc.Exited():
	case <-time.After(30 * time.Second):
		t.Fatal("the gateway did not exit after SIGTERM")
	}
	out := gw.Proc.Output()
	for i := 0; i < n; i++ {
		if !strings.Contains(out, `"path":"/line-`+strconv.Itoa(i)+`"`) {
			t.Fatalf("the access line of request %d is missing after exit; output:\n%s", i, out)
		}
	}
	if !strings.Contains(out, `"duration_ms":`) {
		t.Errorf("JSON access lines carry no numeric duration_ms; output:\n%s", out)
	}
}

// TestPprofOnlyOnTheOpsListener: [server] pprof = true serves the profiler
// on the ops listener and nowhere else; by default it is not served at all.
func TestPprofOnlyOnTheOpsListener(t *testing.T) {
	t.Parallel()
	p := oidctest.New(t, oidctest.Options{})
	up := newUpstream(t)
	for _, on := range []bool{true, false} {
		server := ""
		if on {
			server = "pprof = true\n"
		}
		gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
			Server: server, Upstream: up.URL, Routes: "[[routes]]\npath = \"/**\"\npublic = true\n"}.String())
		resp, err := plainClient.Get(gw.OpsURL + "/debug/pprof/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := map[bool]int{true: 200, false: 404}[on]; resp.StatusCode != want {
			t.Errorf("pprof=%v: ops /debug/pprof/cmdline = %d, want %d", on, resp.StatusCode, want)
		}
		before := up.count()
		resp, err = plainClient.Get(gw.URL + "/debug/pprof/cmdline")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if up.count() != before+1 {
			t.Errorf("pprof=%v: /debug/pprof on the gateway listener was answered by the gateway, not forwarded", on)
		}
	}
}
