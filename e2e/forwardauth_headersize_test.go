package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
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
	// The app's own cookies, 3 KiB of them, ride on every allowed answer
	// (its Cookie header) beside those groups, and reach the app.
	u, err := url.Parse(front + "/")
	if err != nil {
		t.Fatal(err)
	}
	var appCookies []*http.Cookie
	for i := 0; i < 3; i++ {
		appCookies = append(appCookies, &http.Cookie{Name: fmt.Sprintf("app_%d", i), Value: strings.Repeat("v", 1000)})
	}
	c.Jar.SetCookies(u, appCookies)
	status, body, _ = get(t, c, front+"/admin/x")
	if status != 200 {
		t.Fatalf("alice with %d groups and 3 KiB of the app's cookies: %d %.300s", len(groups), status, body)
	}
	if got := decodeSeen(t, body).Headers.Get("Cookie"); !strings.Contains(got, "app_2="+strings.Repeat("v", 1000)) {
		t.Errorf("the app's cookies did not reach it: %.100q", got)
	}
}

func TestForwardAuthManyGroupsNginx(t *testing.T) {
	s := behindFront(t, "127.0.0.2/32", startNginx)
	manyGroupsCase(t, "http://"+s.front, "X-Forwarded-Groups", s.p, s.up)
}

func TestForwardAuthManyGroupsIngressNginx(t *testing.T) {
	s := behindFront(t, "127.0.0.2/32", startIngressNginx)
	manyGroupsCase(t, "http://"+s.front, "X-Auth-Request-Groups", s.p, s.up)
}

func TestForwardAuthManyGroupsCaddy(t *testing.T) {
	s := behindFront(t, "127.0.0.1/32", startCaddy)
	manyGroupsCase(t, "http://"+s.front, "X-Forwarded-Groups", s.p, s.up)
}
