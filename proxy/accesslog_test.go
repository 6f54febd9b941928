package proxy

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
)

// accessLineTime is the leading time of a line, the one part of it that
// differs from run to run. The JSON handler writes a whole second with no
// fraction (RFC3339Nano drops trailing zeros): a refusal that takes none
// of the fixture's clock, served first, ends on one.
var accessLineTime = regexp.MustCompile(`^(time=|\{"time":")\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)"?`)

// accessLineRequests are the requests whose lines TestAccessLineBytes
// pins, in the order it sends them: a refusal (first, on the fixture's
// whole second), an allowed cookie session, and an allowed bearer token
// whose subject and path hold characters each handler quotes or escapes.
// A map's order changed the time a line ends on from run to run.
func accessLineRequests(t *testing.T, f *fixture) []accessLineRequest {
	t.Helper()
	f.prov.bearers["tok"] = &portcullis.Identity{Subject: "svc \"x\"\u009b\x01", Scopes: []string{"api:write"}}
	cookie := httptest.NewRequest("GET", "http://app.test/app/dashboard?x=1", nil)
	bearer := httptest.NewRequest("POST", "http://app.test/api/it%20ems=%22q%22", nil)
	bearer.Header.Set("Authorization", "Bearer tok")
	denied := httptest.NewRequest("GET", "http://app.test/denied/x", nil)
	for _, r := range []*http.Request{cookie, denied} {
		for _, c := range f.cookies(t, f.session()) {
			r.AddCookie(c)
		}
	}
	for _, r := range []*http.Request{cookie, bearer, denied} {
		r.RemoteAddr = "[::ffff:192.0.2.7]:5555"
	}
	return []accessLineRequest{{"denied", denied}, {"cookie", cookie}, {"bearer", bearer}}
}

// accessLineRequest is a request of accessLineRequests and its kind.
type accessLineRequest struct {
	kind string
	r    *http.Request
}

// TestAccessLineBytes pins the access line byte for byte, its time aside,
// in both formats: its fields, their order, quoting and escaping are what
// log pipelines parse, and the line is built by hand for speed
// (Handler.finish), so no change to that code may move a byte.
func TestAccessLineBytes(t *testing.T) {
	want := map[string]string{
		"text cookie": ` level=INFO msg=request method=GET host=app.test path=/app/dashboard route=4 outcome=allowed status=200 duration_ms=1.234567 user=alice remote_addr=192.0.2.7`,
		"text bearer": ` level=INFO msg=request method=POST host=app.test path="/api/it%20ems=%22q%22" route=2 outcome=allowed status=200 duration_ms=1.234567 user="svc \"x\"` + "\ufffd\ufffd" + `" remote_addr=192.0.2.7`,
		"text denied": ` level=INFO msg=request method=GET host=app.test path=/denied/x route=deny-all outcome=denied status=403 duration_ms=0 user=alice remote_addr=192.0.2.7 code=forbidden reason="route denies all requests"`,
		"json cookie": `,"level":"INFO","msg":"request","method":"GET","host":"app.test","path":"/app/dashboard","route":"4","outcome":"allowed","status":200,"duration_ms":1.234567,"user":"alice","remote_addr":"192.0.2.7"}`,
		"json bearer": `,"level":"INFO","msg":"request","method":"POST","host":"app.test","path":"/api/it%20ems=%22q%22","route":"2","outcome":"allowed","status":200,"duration_ms":1.234567,"user":"svc \"x\"` + "\ufffd\ufffd" + `","remote_addr":"192.0.2.7"}`,
		"json denied": `,"level":"INFO","msg":"request","method":"GET","host":"app.test","path":"/denied/x","route":"deny-all","outcome":"denied","status":403,"duration_ms":0,"user":"alice","remote_addr":"192.0.2.7","code":"forbidden","reason":"route denies all requests"}`,
	}
	for _, format := range []string{"text", "json"} {
		var logs bytes.Buffer
		var f *fixture
		// The upstream takes 1.234567 ms of the fixture's clock, a
		// duration that shows the float's formatting.
		up := func(w http.ResponseWriter, r *http.Request) { f.clock.Advance(1234567 * time.Nanosecond) }
		f = newFixtureWith(t, up, func(c *Config) {
			var h slog.Handler = slog.NewTextHandler(&logs, nil)
			if format == "json" {
				h = slog.NewJSONHandler(&logs, nil)
			}
			c.Logger = slog.New(h)
		})
		for _, req := range accessLineRequests(t, f) {
			kind := req.kind
			logs.Reset()
			f.h.ServeHTTP(httptest.NewRecorder(), req.r)
			line := accessLineOf(t, logs.String())
			rest := accessLineTime.ReplaceAllString(line, "")
			if rest == line {
				t.Errorf("%s %s: line without a leading time: %q", format, kind, line)
			}
			if w := want[format+" "+kind]; rest != w {
				t.Errorf("%s %s:\n got %s\nwant %s", format, kind, rest, w)
			}
		}
	}
}

// accessLineOf is the one request line among logs.
func accessLineOf(t *testing.T, logs string) string {
	t.Helper()
	var found []string
	for _, l := range strings.Split(strings.TrimSuffix(logs, "\n"), "\n") {
		if strings.Contains(l, "msg=request ") || strings.Contains(l, `"msg":"request"`) {
			found = append(found, l)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one request line, got %d in:\n%s", len(found), logs)
	}
	return found[0]
}

// BenchmarkAccessLine is Handler.finish alone for an allowed cookie
// request, with slog's text handler writing to io.Discard: the access
// line's own cost, which the handler benchmarks bury in the upstream's.
// The handler reads the real clock, as the gateway's does.
func BenchmarkAccessLine(b *testing.B) {
	f := newFixture(b, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		c.Now = time.Now
	})
	r := httptest.NewRequest("GET", "http://app.test/app/dashboard?x=1", nil)
	r.RemoteAddr = "192.0.2.7:5555"
	for _, c := range f.cookies(b, f.session()) {
		r.AddCookie(c)
	}
	w := &discardWriter{h: http.Header{}}
	f.h.ServeHTTP(w, r)
	if w.status != 0 && w.status != http.StatusOK {
		b.Fatalf("status %d", w.status)
	}
	ex := f.h.newExchange(w, r)
	ex.label, ex.path, ex.method, ex.returned = "4", "/app/dashboard", "GET", true
	ex.id = &portcullis.Identity{Subject: "alice"}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f.h.finish(ex, r)
	}
}
