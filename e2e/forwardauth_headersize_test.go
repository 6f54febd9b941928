package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// manyGroupsCase signs in a user with 200 groups named by IDs, as Entra ID
// names them (37 bytes each), through a front proxy, and asks for a page:
// the gateway's answers grow with the groups (the session cookie at the
// callback; X-Auth-Request-Groups and the signed assertion, which lists
// them too, on each forward-auth answer), and nginx's default 4k or 8k
// buffer for an answer's headers failed such a user with 500 ("upstream
// sent too big header") on every request. The app must receive every
// group.
func manyGroupsCase(t *testing.T, front, groupsHeader string, p *oidctest.Provider, up *upstream) {
	t.Helper()
	groups := []any{"admins"}
	for i := 0; i < 200; i++ {
		groups = append(groups, fmt.Sprintf("0b1c2d3e-4f50-6172-8394-a5b6c7d8%04d", i))
	}
	p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{
		"email": "alice@example.com", "email_verified": true, "groups": groups}})
	c := browser(t)
	status, body, _ := get(t, c, front+"/admin/x")
	if status != 200 {
		t.Fatalf("alice with %d groups: %d %.300s", len(groups), status, body)
	}
	got := decodeSeen(t, body).Headers.Get(groupsHeader)
	if n := len(strings.Split(got, ",")); n != len(groups) {
		t.Errorf("the app received %d groups in %s, want %d", n, groupsHeader, len(groups))
	}
	if decodeSeen(t, body).Headers.Get("X-Portcullis-Jwt-Assertion") == "" {
		t.Error("the app received no assertion")
	}
}

func TestForwardAuthManyGroupsNginx(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	front := testenv.Addr(testenv.FreePort(t))
	a := pickAddrs(t)
	startGateway(t, a, forwardAuthConfig(p, "http://"+front, up.URL, "127.0.0.2/32"))
	startNginx(t, front, a.Listen, strings.TrimPrefix(up.URL, "http://"))
	manyGroupsCase(t, "http://"+front, "X-Forwarded-Groups", p, up)
}

func TestForwardAuthManyGroupsIngressNginx(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	front := testenv.Addr(testenv.FreePort(t))
	a := pickAddrs(t)
	startGateway(t, a, forwardAuthConfig(p, "http://"+front, up.URL, "127.0.0.2/32"))
	startIngressNginx(t, front, a.Listen, strings.TrimPrefix(up.URL, "http://"))
	manyGroupsCase(t, "http://"+front, "X-Auth-Request-Groups", p, up)
}

func TestForwardAuthManyGroupsCaddy(t *testing.T) {
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	front := testenv.Addr(testenv.FreePort(t))
	a := pickAddrs(t)
	startGateway(t, a, forwardAuthConfig(p, "http://"+front, up.URL, "127.0.0.1/32"))
	startCaddy(t, front, a.Listen, strings.TrimPrefix(up.URL, "http://"))
	manyGroupsCase(t, "http://"+front, "X-Forwarded-Groups", p, up)
}
