package nodeop

import (
	"net/url"
	"testing"
)

func TestParseForm(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:5000/session/end?id_token_hint=x")
	for _, tc := range []struct {
		name, page string
		ok         bool
		action     string
		fields     url.Values
	}{
		{
			name:   "login form",
			page:   `<form autocomplete="off" action="http://127.0.0.1:5000/interaction/abc" method="post"><input type="hidden" name="prompt" value="login"/><input required type="text" name="login">`,
			ok:     true,
			action: "http://127.0.0.1:5000/interaction/abc",
			fields: url.Values{"prompt": {"login"}},
		},
		{
			name:   "logout form with escaped value and relative action",
			page:   `<form id="op.logoutForm" method="post" action="/session/end/confirm"><input type="hidden" name="xsrf" value="a&amp;b&quot;c"/></form>`,
			ok:     true,
			action: "http://127.0.0.1:5000/session/end/confirm",
			fields: url.Values{"xsrf": {`a&b"c`}},
		},
		{name: "no form", page: `<p>Sign-out Success</p>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, ok := parseForm(tc.page, base)
			if ok != tc.ok {
				t.Fatalf("ok = %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if f.action != tc.action || f.fields.Encode() != tc.fields.Encode() {
				t.Errorf("form = %s %v, want %s %v", f.action, f.fields, tc.action, tc.fields)
			}
		})
	}
}
