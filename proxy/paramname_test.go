package proxy

import "testing"

// TestIndexedParamNames: Express's qs, PHP and Rack read a name with
// brackets as a list or map under the name before them (Rack: before its
// first "[" or "]" past the leading ones), and Express's method-override
// takes a list's first value: "_method[0]", "access_token[0]" and, to
// Rack, "access_token]x" are _method and access_token (e2e:
// TestExpressActsOnWhatWasDecided). A name whose base is another stays
// another ("access[token]" is PHP's $_GET["access"]["token"]).
func TestIndexedParamNames(t *testing.T) {
	for _, tc := range []struct {
		name, want string
		reads      bool
	}{
		{"_method[0]", overrideParam, true},
		{"_method[1]", overrideParam, true},
		{"_METHOD[x][0]", overrideParam, true},
		{"[_method][0]", overrideParam, true},
		{"x-http-method-override[0]", overrideField, true},
		{"access_token[0]", accessTokenParam, true},
		{"access.token[a][b]", accessTokenParam, true},
		{"access_token[", accessTokenParam, true},
		{"access_token]x", accessTokenParam, true},
		{"]]_method]x", overrideParam, true},
		{"access[token]", accessTokenParam, false},
		{"access[0]", accessTokenParam, false},
		{"tags[0]", overrideParam, false},
		{"[", overrideParam, false},
		{"", overrideParam, false},
	} {
		if got := isParamName(tc.name, tc.want); got != tc.reads {
			t.Errorf("isParamName(%q, %q) = %v, want %v", tc.name, tc.want, got, tc.reads)
		}
	}
}
