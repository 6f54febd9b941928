package proxy

import (
	"net/http"
	"testing"
)

// TestSetCookiesCountsNoExpiry: a refreshed session that shrinks to one
// cookie and expires its old chunks sets one cookie, which every front
// proxy passes on; two chunks set are two.
func TestSetCookiesCountsNoExpiry(t *testing.T) {
	for _, c := range []struct {
		set  []*http.Cookie
		want int
	}{
		{[]*http.Cookie{{Name: "portcullis", Value: "v"}, {Name: "portcullis_1", MaxAge: -1}, {Name: "portcullis_2", MaxAge: -1}}, 1},
		{[]*http.Cookie{{Name: "portcullis", Value: "2:v"}, {Name: "portcullis_1", Value: "w"}}, 2},
		{nil, 0},
	} {
		rec := http.Header{}
		for _, ck := range c.set {
			rec.Add("Set-Cookie", ck.String())
		}
		if got := setCookies(rec); got != c.want {
			t.Errorf("%q: %d cookies set, want %d", rec["Set-Cookie"], got, c.want)
		}
	}
}
