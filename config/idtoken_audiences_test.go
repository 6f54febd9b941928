package config

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestIDTokenAudiencesKey: provider.id_token_audiences reaches the
// provider's configuration apart from audiences (which keeps its default,
// the client ID, so no bearer token for those audiences is admitted), and
// an empty entry is refused (review KN).
func TestIDTokenAudiencesKey(t *testing.T) {
	cfg := mustParse(t, t.TempDir(), provider("issuer = \"https://accounts.google.com\"\nclient_id = \"client\"\nid_token_audiences = [\"project-1\"]"), nil)
	if got := cfg.Provider.IDTokenAudiences; !reflect.DeepEqual(got, []string{"project-1"}) {
		t.Errorf("IDTokenAudiences = %q, want [project-1]", got)
	}
	if got := cfg.Provider.Audiences; !reflect.DeepEqual(got, []string{"client"}) {
		t.Errorf("Audiences = %q, want the default [client]", got)
	}
	_, problems := parseDoc(t, t.TempDir(), provider("issuer = \"https://accounts.google.com\"\nclient_id = \"client\"\nid_token_audiences = [\" \"]"), nil)
	if !slices.ContainsFunc(problems, func(p string) bool {
		return strings.Contains(p, "provider.id_token_audiences[0]: must not be empty")
	}) {
		t.Errorf("problems %q: want provider.id_token_audiences[0] refused as empty", problems)
	}
}
