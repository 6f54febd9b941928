package proxy

import (
	"strings"
	"testing"
)

// FuzzBoundedReturn: the return path a page, link or Location carries is
// never longer than a return URL may be (maxRedirectLen), whatever the
// decided request's path and query; within the bound it is the path and
// query themselves, past it "/", as start makes such an rd. long pads the
// path towards the bound, which the fuzzer would not reach by itself.
func FuzzBoundedReturn(f *testing.F) {
	for _, s := range []struct {
		path, query string
		long        uint16
	}{
		{"/", "", 0}, {"/a", "b=c", 0}, {"/", "", maxRedirectLen - 1}, {"/", "", maxRedirectLen},
		{"/a", "", maxRedirectLen - 3}, {"/a", "b", maxRedirectLen - 4}, {"/a", "b", maxRedirectLen - 3},
		{"", "", 0}, {"", "q", 0}, {"/é", "%zz", maxRedirectLen - 4},
	} {
		f.Add(s.path, s.query, s.long)
	}
	f.Fuzz(func(t *testing.T, path, query string, long uint16) {
		path += strings.Repeat("a", int(long)%(2*maxRedirectLen))
		rel := path
		if query != "" {
			rel += "?" + query
		}
		got := boundedReturn(&exchange{path: path, query: query})
		if len(got) > maxRedirectLen {
			t.Fatalf("path of %d bytes, query of %d: a return path of %d bytes", len(path), len(query), len(got))
		}
		if want := boundedRel(rel); got != want || (len(rel) <= maxRedirectLen) != (got == rel) || (got != rel && got != "/") {
			t.Fatalf("path of %d bytes, query of %d: %d bytes, %q… (boundedRel: %d bytes)", len(path), len(query), len(got),
				got[:min(len(got), 16)], len(want))
		}
	})
}
