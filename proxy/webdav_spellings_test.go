package proxy

import (
	"net/http"
	"strings"
	"testing"
)

// TestWebDAVOverrideAndSpellingsHeld: a POST whose _method names a WebDAV
// method (query, form, multipart, JSON) is decided with that method's
// effects, Destination and members; odd Depth and Overwrite spellings are
// read the stricter way; a method-override header never reaches the app.
func TestWebDAVOverrideAndSpellingsHeld(t *testing.T) {
	f, bob := staffFixture(t, effectRoutes)
	mp := "--b\r\nContent-Disposition: form-data;\r\n name=\"_method\"\r\n\r\nMOVE\r\n--b--\r\n"
	for _, c := range []struct {
		name, target, ctype, body string
		hdr                       [][2]string
	}{
		{"query", "/reports/q1?_method=COPY", "", "", [][2]string{{"Destination", "/files/q1"}}},
		{"form", "/files/x", "application/x-www-form-urlencoded", "_method=copy", [][2]string{{"Destination", "/archive/x"}}},
		{"multipart folded", "/archive/x", "multipart/form-data; boundary=b", mp, [][2]string{{"Destination", "/files/x"}}},
		{"json", "/reports/", "application/json", `{"_method":"PROPFIND"}`, [][2]string{{"Depth", "1"}}},
		{"json members", "/", "application/json", `{"_method":"DELETE"}`, nil},
	} {
		opts := []reqOption{bob}
		for _, h := range c.hdr {
			opts = append(opts, withHeader(h[0], h[1]))
		}
		if c.ctype != "" {
			opts = append(opts, withHeader("Content-Type", c.ctype))
		}
		before := f.up.count()
		if resp := f.do(t, http.MethodPost, c.target, strings.NewReader(c.body), opts...); resp.StatusCode != 403 || f.up.count() > before {
			t.Errorf("_method in the %s: %d (upstream reached %v), want 403", c.name, resp.StatusCode, f.up.count() > before)
		}
	}
	// A Depth other than exactly "0" or "1" is one of infinity: "/" holds
	// the reports.
	for _, d := range [][]string{{" infinity"}, {"Infinity"}, {"1", "infinity"}, {"1,infinity"}, {"01"}, {"1", "1"}} {
		opts := []reqOption{bob}
		for _, v := range d {
			opts = append(opts, withHeader("Depth", v))
		}
		if resp := f.do(t, "PROPFIND", "/", nil, opts...); resp.StatusCode != 403 {
			t.Errorf("PROPFIND / Depth %q: %d, want 403", d, resp.StatusCode)
		}
	}
	// An Overwrite other than exactly one "F" deletes at the Destination.
	for _, o := range [][]string{{"f"}, {"F", "F"}, {"F,F"}, {"0"}} {
		opts := []reqOption{bob, withHeader("Destination", "/ledger/x")}
		for _, v := range o {
			opts = append(opts, withHeader("Overwrite", v))
		}
		if resp := f.do(t, "COPY", "/files/x", nil, opts...); resp.StatusCode != 403 {
			t.Errorf("COPY to /ledger/x, Overwrite %q: %d, want 403", o, resp.StatusCode)
		}
	}
	// Proxy mode removes a method-override header: the POST is one.
	before := f.up.count()
	if resp := f.do(t, "POST", "/files/q1", nil, bob, withHeader("X-HTTP-Method-Override", "COPY")); resp.StatusCode != 200 ||
		f.up.count() == before || f.up.last(t).Header.Get("X-HTTP-Method-Override") != "" {
		t.Errorf("POST with X-HTTP-Method-Override: COPY: %d, or the header reached the upstream", resp.StatusCode)
	}
}
