package proxy

import (
	"net/http"
	"testing"

	"github.com/portcullis/portcullis/policy"
)

// TestMethodOutsideTheTablesDecidedAsWhatItMayDo: a WebDAV method the
// effects table left out (CalDAV's MKCALENDAR, DeltaV's versioning methods,
// BIND, REBIND and UNBIND, ORDERPATCH, UNLOCK, redirect references) was
// decided by its own method alone, so the route that lists no methods
// ("/**" for everyone signed in) let bob create a calendar under
// /archive/ and remove a binding under /ledger/, whose writes are for
// finance (200, want 403). A method no route names and the gateway does
// not know may do anything: it is decided as a read, a write and a delete,
// of the members beneath too. One a route names is decided by that route.
func TestMethodOutsideTheTablesDecidedAsWhatItMayDo(t *testing.T) {
	f, bob := staffFixture(t, []policy.RouteConfig{
		{Path: "/reports/**", Methods: []string{"GET"}, AllowGroups: []string{"finance"}},
		{Path: "/archive/**", Methods: []string{"PUT", "DELETE"}, AllowGroups: []string{"finance"}},
		{Path: "/ledger/**", Methods: []string{"DELETE"}, AllowGroups: []string{"finance"}},
		{Path: "/cache/**", Methods: []string{"PURGE"}},
		{Path: "/cache/**", Methods: []string{"PUT", "DELETE", "GET"}, AllowGroups: []string{"finance"}},
		{Path: "/**"},
	})
	cases := []struct {
		method, path string
		want         int
	}{
		{"MKCALENDAR", "/archive/cal/", 403},
		{"MKWORKSPACE", "/archive/ws/", 403},
		{"MKACTIVITY", "/archive/act/", 403},
		{"VERSION-CONTROL", "/archive/x", 403},
		{"BASELINE-CONTROL", "/archive/x", 403},
		{"CHECKOUT", "/archive/x", 403},
		{"CHECKIN", "/archive/x", 403},
		{"UNCHECKOUT", "/archive/x", 403},
		{"UPDATE", "/archive/x", 403},
		{"LABEL", "/archive/x", 403},
		{"MERGE", "/archive/x", 403},
		{"ORDERPATCH", "/archive/", 403},
		{"UNLOCK", "/archive/x", 403},
		{"MKREDIRECTREF", "/archive/r", 403},
		{"UPDATEREDIRECTREF", "/archive/r", 403},
		{"BIND", "/archive/", 403},
		{"BIND", "/", 403}, // the new binding may be a member under /archive/
		{"REBIND", "/archive/", 403},
		{"UNBIND", "/ledger/", 403},
		{"UNBIND", "/", 403},
		{"PURGE", "/archive/x", 403}, // no route names it: it may write
		{"PURGE", "/ledger/x", 403},  // or delete
		{"PURGE", "/reports/x", 403}, // or read
		{"PURGE", "/", 403},          // what is beneath too
		// Held: what no protected method's rule reaches, and a method a
		// route names, which that route decides.
		{"MKCALENDAR", "/files/cal/", 200},
		{"UNBIND", "/files/", 200},
		{"PURGE", "/files/x", 200},
		{"PURGE", "/cache/x", 200},
	}
	for _, c := range cases {
		f.decidedBothWays(t, "", c.method, c.path, c.want, bob)
	}
	// A POST whose _method names one is decided so too.
	if resp := f.do(t, http.MethodPost, "/archive/cal/?_method=MKCALENDAR", nil, bob); resp.StatusCode != 403 {
		t.Errorf("POST ?_method=MKCALENDAR /archive/cal/: %d, want 403", resp.StatusCode)
	}
}
