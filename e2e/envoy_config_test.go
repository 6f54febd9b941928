package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	bootstrap "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_authz/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protopath"
	"google.golang.org/protobuf/reflect/protorange"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"sigs.k8s.io/yaml"
)

// TestEnvoySnippetLoads loads docs/forward-auth/envoy.yaml as Envoy loads a
// bootstrap file (YAML read as JSON into the v3 Bootstrap message, the
// typed configurations by their @type) with Envoy's own API definitions
// (go-control-plane 1.40) and their validation rules. Envoy does not
// install on the test machines, so the snippet cannot be run as nginx's,
// Caddy's and Traefik's are; this catches a misspelt field, a wrong type
// URL, a bad enum or a value Envoy would refuse at start.
func TestEnvoySnippetLoads(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docs", "forward-auth", "envoy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("envoy.yaml is not YAML: %v", err)
	}
	var b bootstrap.Bootstrap
	if err := (protojson.UnmarshalOptions{}).Unmarshal(js, &b); err != nil {
		t.Fatalf("envoy.yaml does not load as an Envoy bootstrap: %v", err)
	}
	if err := validateAll(&b); err != nil {
		t.Fatalf("envoy.yaml fails Envoy's validation: %v", err)
	}
	// The loaded configuration still holds what the docs promise.
	out, err := protojson.Marshal(&b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"pathPrefix":"/oauth2/auth?"`, `"headersWithUnderscoresAction":"DROP_HEADER"`,
		`"useRemoteAddress":true`, `"disabled":true`, `"x-forwarded-access-token"`, `"x-auth-request-access-token"`,
		`{"exact":"destination"}`, `{"exact":"depth"}`, `{"exact":"overwrite"}`} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the loaded snippet lacks %s", want)
		}
	}
}

// validateAll applies Envoy's validation rules to m and to every typed
// configuration (google.protobuf.Any) inside it, which m's own rules do not
// look into.
func validateAll(m proto.Message) error {
	type validator interface{ ValidateAll() error }
	if v, ok := m.(validator); ok {
		if err := v.ValidateAll(); err != nil {
			return err
		}
	}
	var inner []proto.Message
	err := protorange.Range(m.ProtoReflect(), func(vs protopath.Values) error {
		a, ok := vs.Index(-1).Value.Interface().(protoreflect.Message)
		if !ok {
			return nil
		}
		if any, ok := a.Interface().(*anypb.Any); ok {
			msg, err := any.UnmarshalNew()
			if err != nil {
				return err
			}
			inner = append(inner, msg)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, msg := range inner {
		if err := validateAll(msg); err != nil {
			return err
		}
	}
	return nil
}
