package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// TestUpstreamCannotClearGatewayCookies: an application answers with
// Clear-Site-Data naming "cookies", or "*" (every type), in any spelling,
// on several lines, or on a 103 Early Hints. A browser then deletes every
// cookie of the registrable domain, the gateway's session with them: one
// application signed its users out of the gateway and of every other
// application. The types other than cookies still reach the client.
func TestUpstreamCannotClearGatewayCookies(t *testing.T) {
	for _, tc := range []struct {
		name string
		sent []string
		want string // the one Clear-Site-Data line the client gets; "" = none
	}{
		{"cookies", []string{`"cookies"`}, ""},
		{"star", []string{`"*"`}, `"cache", "storage", "executionContexts", "clientHints"`},
		{"with cache", []string{`"cache", "cookies", "storage"`}, `"cache", "storage"`},
		{"upper case", []string{`"COOKIES"`}, ""},
		{"two lines", []string{`"cache"`, ` "cookies" `}, `"cache"`},
		{"unquoted", []string{`cookies, "storage"`}, `"storage"`},
		{"cache alone", []string{`"cache"`}, `"cache"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header()["Clear-Site-Data"] = tc.sent
				w.Header().Set("Link", "</s.css>; rel=preload")
				w.WriteHeader(http.StatusEarlyHints)
				w.Header()["Clear-Site-Data"] = tc.sent
				_, _ = io.WriteString(w, "ok")
			})
			srv := serveGateway(t, f)
			early, final := answerWithHints(t, strings.TrimPrefix(srv.URL, "http://"), "/public/x")
			if got := early.Values("Clear-Site-Data"); len(got) != 0 {
				t.Errorf("103 Early Hints: Clear-Site-Data %q reached the client", got)
			}
			got := final.Header.Values("Clear-Site-Data")
			switch {
			case tc.want == "" && len(got) != 0, tc.want != "" && (len(got) != 1 || got[0] != tc.want):
				t.Errorf("Clear-Site-Data %q reached the client, want %q", got, tc.want)
			}
		})
	}
}

// answerWithHints sends GET path to the gateway at addr and returns the
// header of the one interim answer it must give, and the final answer.
func answerWithHints(t *testing.T, addr, path string) (textproto.MIMEHeader, *http.Response) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: gw.test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	tp := textproto.NewReader(bufio.NewReader(conn))
	line, err := tp.ReadLine()
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 103") {
		t.Fatalf("want 103 Early Hints first, got %q (%v)", line, err)
	}
	early, err := tp.ReadMIMEHeader()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(tp.R, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	return early, resp
}

// TestUpstreamCannotSetNetworkErrorLogging: an application answers with a
// Network Error Logging policy (NEL, with the Report-To group it names),
// which a browser applies to every request to the origin, and with
// include_subdomains to the hosts under it: with success_fraction 1 it
// reported the URL of every request the user made to the other
// applications and to the gateway ({prefix}/callback with its code) to the
// application's collector. The policy never reaches the client; Report-To
// itself, which a page's own CSP may name, does.
func TestUpstreamCannotSetNetworkErrorLogging(t *testing.T) {
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Report-To", `{"group":"g","max_age":86400,"endpoints":[{"url":"https://collector.test/r"}]}`)
		w.Header()["NEL"] = []string{`{"report_to":"g","max_age":86400,"include_subdomains":true,"success_fraction":1.0}`}
		w.Header().Set("Link", "</s.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header()["NEL"] = []string{`{"report_to":"g","max_age":86400,"success_fraction":1.0}`}
		_, _ = io.WriteString(w, "ok")
	})
	srv := serveGateway(t, f)
	early, final := answerWithHints(t, strings.TrimPrefix(srv.URL, "http://"), "/public/x")
	if got := early.Values("Nel"); len(got) != 0 {
		t.Errorf("103 Early Hints: NEL %q reached the client", got)
	}
	if got := final.Header.Values("Nel"); len(got) != 0 {
		t.Errorf("NEL %q reached the client", got)
	}
	if final.Header.Get("Report-To") == "" {
		t.Error("Report-To was lost")
	}
}

// TestUpstreamCannotSetAltSvc: an application's Alt-Svc reached the
// browser, which caches it for the origin (scheme, host, port), for the
// gateway's own endpoints and every application on that host, for as long
// as its "ma" says (with persist=1 across network changes): one
// application steered where the browser connects for all of them, and an
// upstream's own "h3" advertisement described the upstream's listener, not
// the gateway's. The field never reaches the client, on a 103 either; the
// document's own policies (Strict-Transport-Security, Accept-CH) pass.
func TestUpstreamCannotSetAltSvc(t *testing.T) {
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Alt-Svc", `h2="collector.test:443"; ma=2592000; persist=1`)
		w.Header().Set("Link", "</s.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Set("Alt-Svc", `h3=":443"; ma=86400`)
		w.Header().Set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
		w.Header().Set("Accept-CH", "Sec-CH-UA-Model")
		_, _ = io.WriteString(w, "ok")
	})
	srv := serveGateway(t, f)
	early, final := answerWithHints(t, strings.TrimPrefix(srv.URL, "http://"), "/public/x")
	if got := early.Values("Alt-Svc"); len(got) != 0 {
		t.Errorf("103 Early Hints: Alt-Svc %q reached the client", got)
	}
	if got := final.Header.Values("Alt-Svc"); len(got) != 0 {
		t.Errorf("Alt-Svc %q reached the client", got)
	}
	if final.Header.Get("Strict-Transport-Security") == "" || final.Header.Get("Accept-CH") == "" {
		t.Errorf("the document's own policies were lost: %q", final.Header)
	}
}
