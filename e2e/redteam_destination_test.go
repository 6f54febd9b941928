package e2e

import (
	"context"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"golang.org/x/net/webdav"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// webdavApp is a real WebDAV server (golang.org/x/net/webdav) over an
// in-memory tree holding /hello, /files/x, /public/x and an empty /admin.
func webdavApp(t *testing.T) (*httptest.Server, webdav.FileSystem) {
	t.Helper()
	ctx := context.Background()
	fs := webdav.NewMemFS()
	for _, dir := range []string{"/files", "/public", "/admin"} {
		if err := fs.Mkdir(ctx, dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"/hello", "/files/x", "/public/x"} {
		f, err := fs.OpenFile(ctx, name, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.Write([]byte("content of " + name))
		_ = f.Close()
	}
	app := httptest.NewServer(&webdav.Handler{FileSystem: fs, LockSystem: webdav.NewMemLS()})
	t.Cleanup(app.Close)
	return app, fs
}

// adminTouched reports what a COPY or MOVE left under /admin, which only
// the group admins may write.
func adminTouched(t *testing.T, fs webdav.FileSystem) []string {
	t.Helper()
	d, err := fs.OpenFile(context.Background(), "/admin", os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	infos, _ := d.Readdir(0)
	var names []string
	for _, fi := range infos {
		names = append(names, fi.Name())
	}
	return names
}

// destinationProbes are COPY and MOVE requests into /admin (bob's and an
// anonymous client's) as raw request heads for host.
func destinationProbes(host, cookie string) []string {
	var out []string
	for _, p := range []struct{ method, path, dest, cookie string }{
		{"MOVE", "/files/x", "/admin/moved", cookie},
		{"COPY", "/files/x", "http://" + host + "/admin/copied", cookie},
		{"COPY", "/public/x", "/admin/anonymous", ""},
		{"MOVE", "/public/x", "/%61dmin/anonymous-moved", ""},
	} {
		head := p.method + " " + p.path + " HTTP/1.1\r\nHost: " + host + "\r\nDestination: " + p.dest + "\r\n"
		if p.cookie != "" {
			head += "Cookie: " + p.cookie + "\r\n"
		}
		out = append(out, head+"Content-Length: 0\r\nConnection: close\r\n\r\n")
	}
	return out
}

// checkDestinationProbes sends destinationProbes to addr, host the
// request's, and fails t when anything arrived under /admin; a MOVE of bob's
// within his own tree must still go through (201).
func checkDestinationProbes(t *testing.T, addr, cookie string, fs webdav.FileSystem) {
	t.Helper()
	for _, raw := range destinationProbes(addr, cookie) {
		status, _ := rawDo(t, addr, raw)
		t.Logf("%.40q: %d", raw, status)
	}
	if got := adminTouched(t, fs); len(got) > 0 {
		t.Errorf("/admin now holds %v", got)
	}
	status, body := rawDo(t, addr, "MOVE /hello HTTP/1.1\r\nHost: "+addr+"\r\nDestination: /files/hello\r\nCookie: "+cookie+
		"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
	if status != 201 {
		t.Errorf("bob's MOVE /hello to /files/hello: %d %.200s", status, body)
	}
}

// TestRedTeamDestinationIntoAdmin: a WebDAV application behind the gateway,
// /admin/** for the group admins. Bob (staff) and an anonymous client COPY
// and MOVE files into /admin, in proxy mode and through each front proxy
// with its documented snippet: nothing arrives there. The gateway decided
// such a request by its own path alone, and the WebDAV server wrote the
// path its Destination header names.
func TestRedTeamDestinationIntoAdmin(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	webdavEveryWay(t, webdavApp, demoRoutes+"\n[[routes]]\npath = \"/**\"\n", "", checkDestinationProbes)
}

// webdavEveryWay runs check against a WebDAV application (newApp) behind
// the gateway in proxy mode with proxyRoutes, and behind every red-team
// front proxy in forward-auth with faRoutes (forwardAuthTOML's own when
// ""), each with bob signed in through it.
func webdavEveryWay(t *testing.T, newApp func(*testing.T) (*httptest.Server, webdav.FileSystem), proxyRoutes, faRoutes string,
	check func(t *testing.T, addr, cookie string, fs webdav.FileSystem)) {
	t.Run("proxy", func(t *testing.T) {
		app, fs := newApp(t)
		p := oidctest.New(t, oidctest.Options{})
		gw := startGateway(t, pickAddrs(t), oidctestConfig(p, app.URL, "", proxyRoutes))
		_, cookie := signInBob(t, p, gw.URL)
		check(t, strings.TrimPrefix(gw.URL, "http://"), cookie, fs)
	})
	for _, front := range redTeamFronts {
		t.Run(front.name, func(t *testing.T) {
			app, fs := newApp(t)
			s := frontSetup{p: oidctest.New(t, oidctest.Options{}), front: testenv.Addr(testenv.FreePort(t))}
			a := pickAddrs(t)
			cfg := forwardAuthTOML(s.p, "http://"+s.front, app.URL, front.trusted)
			if faRoutes != "" {
				cfg.Routes = faRoutes
			}
			s.gw = startGateway(t, a, cfg.String())
			front.start(t, s.front, a.Listen, strings.TrimPrefix(app.URL, "http://"))
			_, cookie := signInBob(t, s.p, "http://"+s.front)
			check(t, s.front, cookie, fs)
		})
	}
}

// TestRedTeamCollectionCarriesItsMembers: a WebDAV COPY, MOVE or DELETE of
// a collection acts on every member beneath it. With /public/secret/**
// for admins listed ahead of the public /public/**, an anonymous client
// copied /public/ (secret included) to a public path, where anyone reads
// the secret, moved it out, and deleted /public/ with the secret in it:
// each decided for /public/ alone.
func TestRedTeamCollectionCarriesItsMembers(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	routes := "[[routes]]\npath = \"/public/secret/**\"\nallow_groups = [\"admins\"]\n" + demoRoutes + "\n[[routes]]\npath = \"/**\"\n"
	for _, c := range []struct{ method, path, dest string }{
		{"COPY", "/public/", "/public-copy/"},
		{"COPY", "/public/", "/public/copy/"},
		{"MOVE", "/public", "/public2"},
		{"DELETE", "/public/", ""},
		{"DELETE", "/public", ""},
	} {
		app, fs := webdavApp(t)
		ctx := context.Background()
		if err := fs.Mkdir(ctx, "/public/secret", 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := fs.OpenFile(ctx, "/public/secret/doc", os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.Write([]byte("the admins' secret"))
		_ = f.Close()
		p := oidctest.New(t, oidctest.Options{})
		gw := startGateway(t, pickAddrs(t), oidctestConfig(p, app.URL, "", routes))
		addr := strings.TrimPrefix(gw.URL, "http://")
		head := c.method + " " + c.path + " HTTP/1.1\r\nHost: " + addr + "\r\n"
		if c.dest != "" {
			head += "Destination: " + c.dest + "\r\n"
		}
		status, _ := rawDo(t, addr, head+"Content-Length: 0\r\nConnection: close\r\n\r\n")
		_, statErr := fs.Stat(ctx, "/public/secret/doc")
		var copied []string
		for _, name := range []string{"/public-copy/secret/doc", "/public/copy/secret/doc", "/public2/secret/doc"} {
			if _, err := fs.Stat(ctx, name); err == nil {
				copied = append(copied, name)
			}
		}
		if statErr != nil || copied != nil || status != 401 {
			t.Errorf("anonymous %s %s (Destination %q): %d; the secret still there: %v; copied to %v; want 401, untouched",
				c.method, c.path, c.dest, status, statErr == nil, copied)
		}
	}
}

// effectRoutes protect GET of /reports/** (reading) and PUT and DELETE of
// /archive/** (writing) for finance; anyone signed in may do the rest.
const effectRoutes = `
[[routes]]
path = "/reports/**"
methods = ["GET"]
allow_groups = ["finance"]

[[routes]]
path = "/archive/**"
methods = ["PUT", "DELETE"]
allow_groups = ["finance"]

[[routes]]
path = "/**"
`

// effectApp is webdavApp with /reports/q1.pdf and /archive/old.
func effectApp(t *testing.T) (*httptest.Server, webdav.FileSystem) {
	t.Helper()
	app, fs := webdavApp(t)
	ctx := context.Background()
	for _, dir := range []string{"/reports", "/archive"} {
		if err := fs.Mkdir(ctx, dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"/reports/q1.pdf", "/archive/old"} {
		f, err := fs.OpenFile(ctx, name, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = f.Write([]byte("content of " + name))
		_ = f.Close()
	}
	return app, fs
}

// checkEffectProbes sends bob's WebDAV requests that read /reports or
// write /archive to addr, and fails t when one is not refused (403) or
// left a trace; bob's own COPY and listing of /files still go through.
func checkEffectProbes(t *testing.T, addr, cookie string, fs webdav.FileSystem) {
	t.Helper()
	for _, p := range []struct{ head string }{
		{"COPY /reports/q1.pdf HTTP/1.1\r\nDestination: /files/q1.pdf\r\n"},
		{"MOVE /reports/q1.pdf HTTP/1.1\r\nDestination: /files/moved.pdf\r\n"},
		{"PROPFIND /reports/ HTTP/1.1\r\nDepth: 1\r\n"},
		{"PROPFIND /reports/q1.pdf HTTP/1.1\r\nDepth: 0\r\n"},
		{"COPY /files/x HTTP/1.1\r\nDestination: /archive/old\r\n"},
		{"COPY /files/x HTTP/1.1\r\nDestination: /archive/new\r\nOverwrite: F\r\n"},
		{"MOVE /archive/old HTTP/1.1\r\nDestination: /files/old\r\n"},
		{"MKCOL /archive/dir HTTP/1.1\r\n"},
		{"PROPPATCH /archive/old HTTP/1.1\r\n"},
	} {
		status, body := rawDo(t, addr, p.head+"Host: "+addr+"\r\nCookie: "+cookie+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		if status != 403 {
			t.Errorf("bob's %.60q: %d %.200s, want 403", p.head, status, body)
		}
	}
	ctx := context.Background()
	for _, name := range []string{"/files/q1.pdf", "/files/moved.pdf", "/archive/new", "/archive/dir", "/files/old"} {
		if _, err := fs.Stat(ctx, name); err == nil {
			t.Errorf("%s exists", name)
		}
	}
	for _, name := range []string{"/reports/q1.pdf", "/archive/old"} {
		if _, err := fs.Stat(ctx, name); err != nil {
			t.Errorf("%s is gone: %v", name, err)
		}
	}
	for _, c := range []struct {
		head string
		want int
	}{
		{"COPY /files/x HTTP/1.1\r\nDestination: /files/y\r\n", 201},
		{"PROPFIND /files/ HTTP/1.1\r\nDepth: 1\r\n", 207},
	} {
		status, body := rawDo(t, addr, c.head+"Host: "+addr+"\r\nCookie: "+cookie+"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		if status != c.want {
			t.Errorf("bob's %.60q: %d %.200s, want %d", c.head, status, body, c.want)
		}
	}
}

// TestRedTeamWebDAVMethodsDecidedAsTheirEffects: a WebDAV method reads or
// writes as GET, PUT and DELETE do. With GET of /reports/** and PUT and
// DELETE of /archive/** for finance, bob (staff) copied, moved and listed
// the reports, and copied over, moved out of and created in the archive:
// each request was decided by its own method, which only "/**" names.
func TestRedTeamWebDAVMethodsDecidedAsTheirEffects(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	webdavEveryWay(t, effectApp, effectRoutes, effectRoutes, checkEffectProbes)
}

// TestRedTeamCollectionListsItsMembers: a PROPFIND with Depth 1 answers
// the properties of each direct member of a collection (RFC 4918 §9.1:
// its name, size, dates). With GET of /public/secret/** for admins listed
// ahead of the public /public/**, an anonymous "PROPFIND /public/" with
// Depth 1 showed /public/secret, which the GET route hides: it was decided
// for /public/ alone. Depth 0 and a collection without such a member are
// still answered.
func TestRedTeamCollectionListsItsMembers(t *testing.T) {
	t.Parallel() // its own gateway, provider and app
	routes := "[[routes]]\npath = \"/public/secret/**\"\nmethods = [\"GET\"]\nallow_groups = [\"admins\"]\n" +
		demoRoutes + "\n[[routes]]\npath = \"/**\"\n"
	app, fs := webdavApp(t)
	ctx := context.Background()
	for _, dir := range []string{"/public/secret", "/public/open"} {
		if err := fs.Mkdir(ctx, dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := oidctest.New(t, oidctest.Options{})
	gw := startGateway(t, pickAddrs(t), oidctestConfig(p, app.URL, "", routes))
	addr := strings.TrimPrefix(gw.URL, "http://")
	for _, c := range []struct {
		path, depth string
		want        int
	}{
		{"/public/", "1", 401},
		{"/public", "1", 401},
		{"/public/", "0", 207},
		{"/public/open/", "1", 207},
	} {
		status, body := rawDo(t, addr, "PROPFIND "+c.path+" HTTP/1.1\r\nHost: "+addr+"\r\nDepth: "+c.depth+
			"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		if status != c.want || strings.Contains(body, "secret") {
			t.Errorf("anonymous PROPFIND %s, Depth %s: %d, lists the secret: %v; want %d, not listed",
				c.path, c.depth, status, strings.Contains(body, "secret"), c.want)
		}
	}
}
