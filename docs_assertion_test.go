package portcullis_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDocsAssertionClaims: the table of docs/headers.md#the-signed-assertion
// names every claim the gateway signs (the JSON names of proxy's
// assertionClaims) and none it does not, so that an upstream author reads
// what the token holds, and a claim added or renamed fails here.
func TestDocsAssertionClaims(t *testing.T) {
	code := assertionClaimNames(t)
	doc := assertionTableClaims(t)
	for _, c := range code {
		if !slices.Contains(doc, c) {
			t.Errorf("docs/headers.md#the-signed-assertion does not name the claim %s, which the assertion carries", c)
		}
	}
	for _, c := range doc {
		if !slices.Contains(code, c) {
			t.Errorf("docs/headers.md#the-signed-assertion names the claim %s, which the assertion does not carry", c)
		}
	}
}

// assertionClaimNames are the json names of proxy/assertion.go's
// assertionClaims fields.
func assertionClaimNames(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join("proxy", "assertion.go"), nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "assertionClaims" {
			return true
		}
		for _, field := range ts.Type.(*ast.StructType).Fields.List {
			tag, _ := strconv.Unquote(field.Tag.Value)
			name, _, _ := strings.Cut(reflect.StructTag(tag).Get("json"), ",")
			names = append(names, name)
		}
		return false
	})
	if len(names) < 8 {
		t.Fatalf("found only the claims %q in proxy/assertion.go", names)
	}
	return names
}

// assertionTableClaims are the claims the first column of the table under
// "## The signed assertion" names (its "header" row aside).
func assertionTableClaims(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("docs", "headers.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## The signed assertion\n")
	if !ok {
		t.Fatal("docs/headers.md has no ## The signed assertion section")
	}
	section, _, _ = strings.Cut(section, "\n#")
	var claims []string
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range errorCodeSpan.FindAllStringSubmatch(cells[1], -1) {
			claims = append(claims, m[1])
		}
	}
	if len(claims) < 5 {
		t.Fatalf("found only the claims %q in docs/headers.md's table", claims)
	}
	return claims
}
