package demo

import (
	"reflect"
	"testing"

	"github.com/pelletier/go-toml/v2"
)

func TestConfigTOML(t *testing.T) {
	e := &Env{
		IssuerURL: "http://127.0.0.1:1111", UpstreamURL: "http://127.0.0.1:2222",
		ClientID: "portcullis-demo", ClientSecret: `s"e\cret`, gatewayURL: "http://127.0.0.1:3333",
	}
	secret := "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA==\n\x01"
	var got map[string]any
	if err := toml.Unmarshal([]byte(e.ConfigTOML("127.0.0.1:3333", secret)), &got); err != nil {
		t.Fatalf("ConfigTOML is not valid TOML: %v\n%s", err, e.ConfigTOML("127.0.0.1:3333", secret))
	}
	want := map[string]any{
		"server": map[string]any{
			"listen": "127.0.0.1:3333", "public_url": "http://127.0.0.1:3333",
			"ops_listen": "127.0.0.1:0", "shutdown_timeout": "2s", "shutdown_delay": "0s",
		},
		"provider": map[string]any{
			"issuer": "http://127.0.0.1:1111", "client_id": "portcullis-demo", "client_secret": `s"e\cret`,
			"scopes": []any{"openid", "email", "profile", "groups", "offline_access"},
		},
		"session":   map[string]any{"store": "cookie", "secrets": []any{secret}},
		"upstreams": []any{map[string]any{"name": "demo", "url": "http://127.0.0.1:2222"}},
		"routes": []any{
			map[string]any{"path": "/public/**", "upstream": "demo", "public": true},
			map[string]any{"path": "/admin/**", "upstream": "demo", "allow_groups": []any{"admins"}},
			map[string]any{"path": "/**", "upstream": "demo"},
		},
	}
	for key, w := range want {
		if !reflect.DeepEqual(got[key], w) {
			t.Errorf("%s = %#v, want %#v", key, got[key], w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("tables %v, want exactly %d", reflect.ValueOf(got).MapKeys(), len(want))
	}
}
