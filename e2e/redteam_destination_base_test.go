package e2e

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/net/webdav"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// sharedDAV is a real WebDAV server (golang.org/x/net/webdav) over one
// in-memory tree that holds every user's files, /alice/notes and
// /bob/notes: the gateway in front of it serves alice's tree alone, by an
// upstream URL whose path is /alice/.
func sharedDAV(t *testing.T) (*httptest.Server, webdav.FileSystem) {
	t.Helper()
	ctx := context.Background()
	fs := webdav.NewMemFS()
	for _, owner := range []string{"alice", "bob"} {
		if err := fs.Mkdir(ctx, "/"+owner, 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := fs.OpenFile(ctx, "/"+owner+"/notes", os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.Write([]byte(owner + "'s notes"))
		_ = f.Close()
	}
	app := httptest.NewServer(&webdav.Handler{FileSystem: fs, LockSystem: webdav.NewMemLS()})
	t.Cleanup(app.Close)
	return app, fs
}

// davFile is the content of name in fs, or "" when it does not exist.
func davFile(t *testing.T, fs webdav.FileSystem, name string) string {
	t.Helper()
	f, err := fs.OpenFile(context.Background(), name, os.O_RDONLY, 0)
	if err != nil {
		return ""
	}
	defer f.Close()
	b, _ := io.ReadAll(f)
	return string(b)
}

// TestDestinationStaysUnderUpstreamBasePath: an upstream URL's path goes in
// front of every forwarded path, and fences the application to that part
// of its server. A COPY or MOVE's Destination names a path as well, which
// the WebDAV server acts on; the gateway forwarded it as sent, without the
// base path, so alice, signed in to the /alice/ upstream, overwrote
// /bob/notes ("COPY /notes" with "Destination: /bob/notes") and moved
// files out of /alice/, and an ordinary rename ("Destination: /renamed")
// landed outside the base path. With preserve_host the absolute form
// ("http://GATEWAY/bob/moved") did the same. The Destination now names the
// path the upstream serves for it, under the base path.
func TestDestinationStaysUnderUpstreamBasePath(t *testing.T) {
	t.Parallel() // its own gateways, provider and apps
	for _, preserve := range []bool{false, true} {
		t.Run("preserve_host="+strconv.FormatBool(preserve), func(t *testing.T) {
			app, fs := sharedDAV(t)
			p := oidctest.New(t, oidctest.Options{})
			gw := startGateway(t, pickAddrs(t), tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
				Upstream: app.URL + "/alice/\"\npreserve_host = " + strconv.FormatBool(preserve) + "\n#\"",
				Routes:   "[[routes]]\npath = \"/**\"\n"}.String())
			p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{"email": "alice@example.com", "email_verified": true}})
			alice := browser(t)
			if status, body, _ := get(t, alice, gw.URL+"/notes"); status != 200 || body != "alice's notes" {
				t.Fatalf("alice's sign-in and GET /notes: %d %.200s", status, body)
			}
			cookie := cookieHeader(alice.Jar.Cookies(mustURL(t, gw.URL)))
			addr := strings.TrimPrefix(gw.URL, "http://")
			dav := func(method, path, dest string) int {
				status, _ := rawDo(t, addr, method+" "+path+" HTTP/1.1\r\nHost: "+addr+"\r\nDestination: "+dest+
					"\r\nCookie: "+cookie+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
				return status
			}
			t.Logf("COPY /notes to /bob/notes: %d", dav("COPY", "/notes", "/bob/notes"))
			t.Logf("MOVE /notes to http://%s/bob/moved: %d", addr, dav("MOVE", "/notes", "http://"+addr+"/bob/moved"))
			if got := davFile(t, fs, "/bob/notes"); got != "bob's notes" {
				t.Errorf("/bob/notes now holds %q", got)
			}
			if got := davFile(t, fs, "/bob/moved"); got != "" {
				t.Errorf("/bob/moved was written: %q", got)
			}
			if status := dav("MOVE", "/notes", "/renamed"); status != 201 || davFile(t, fs, "/alice/renamed") != "alice's notes" {
				t.Errorf("MOVE /notes to /renamed: %d; /alice/renamed holds %q, /renamed %q; want 201 and alice's notes at /alice/renamed",
					status, davFile(t, fs, "/alice/renamed"), davFile(t, fs, "/renamed"))
			}
			if status := dav("COPY", "/renamed", "http://"+addr+"/copy"); status != 201 || davFile(t, fs, "/alice/copy") != "alice's notes" {
				t.Errorf("COPY /renamed to http://%s/copy: %d; /alice/copy holds %q; want 201, alice's notes", addr, status,
					davFile(t, fs, "/alice/copy"))
			}
		})
	}
}
