package portcullis_test

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/printer"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDocsStatusCodesTable: every answer the gateway makes itself (each
// httpError literal of the proxy package: its status and JSON error code)
// is a row of the "## Status codes" table of docs/requests.md that names
// that code, and the table names no code the gateway does not send; so a
// code added, renamed or moved to another status fails here.
func TestDocsStatusCodesTable(t *testing.T) {
	code := proxyErrorCodes(t)
	if len(code) < 15 {
		t.Fatalf("found only %d error codes in proxy/; the parser no longer matches them: %v", len(code), code)
	}
	table := statusCodesTable(t)
	for c, statuses := range code {
		for _, s := range statuses {
			if !slices.Contains(table[s], c) {
				t.Errorf("docs/requests.md#status-codes: the %d row does not name %s, which the gateway sends with %d", s, c, s)
			}
		}
	}
	for s, codes := range table {
		for _, c := range codes {
			if _, ok := code[c]; !ok {
				t.Errorf("docs/requests.md#status-codes: the %d row names %s, which no httpError of proxy/ has", s, c)
			}
		}
	}
}

// errorCodeSpan is a JSON error code in a table cell: `snake_case`.
var errorCodeSpan = regexp.MustCompile("`([a-z_]+)`")

// statusCodesTable reads the table under "## Status codes" of
// docs/requests.md: status to the JSON error codes its row names.
func statusCodesTable(t *testing.T) map[int][]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("docs", "requests.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(b), "\n## Status codes\n")
	if !ok {
		t.Fatal("docs/requests.md has no ## Status codes section")
	}
	table := map[int][]string{}
	for _, line := range strings.Split(section, "\n") {
		if strings.HasPrefix(line, "## ") {
			break
		}
		cells := strings.Split(line, "|")
		if len(cells) < 5 {
			continue
		}
		s, err := strconv.Atoi(strings.TrimSpace(cells[1]))
		if err != nil {
			continue
		}
		for _, m := range errorCodeSpan.FindAllStringSubmatch(cells[3], -1) {
			table[s] = append(table[s], m[1])
		}
	}
	if len(table) < 10 {
		t.Fatalf("found only %d rows in docs/requests.md#status-codes", len(table))
	}
	return table
}

// errorLit is one status expression and the JSON error code it goes with.
type errorLit struct{ status, code string }

// proxyErrorCodes finds the httpError{status: S, code: "C"} literals of
// the proxy package's non-test files, and the constant statuses its
// callers give loginFailure: code to its statuses. A status that is not a
// constant (exchangeFailure's, chosen per failure) is left out.
func proxyErrorCodes(t *testing.T) map[string][]int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("proxy", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var lits []errorLit
	for _, name := range files {
		if !strings.HasSuffix(name, "_test.go") {
			lits = append(lits, errorLits(t, name)...)
		}
	}
	var exprs []string
	for _, l := range lits {
		exprs = append(exprs, l.status)
	}
	values := constValues(t, exprs)
	out := map[string][]int{}
	for i, l := range lits {
		if l.code == "" {
			continue
		}
		if _, ok := out[l.code]; !ok {
			out[l.code] = nil
		}
		if values[i] != 0 && !slices.Contains(out[l.code], values[i]) {
			out[l.code] = append(out[l.code], values[i])
		}
	}
	return out
}

// errorLits are the httpError literals and loginFailure calls of one file.
func errorLits(t *testing.T, name string) []errorLit {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var lits []errorLit
	ast.Inspect(f, func(n ast.Node) bool {
		if call, ok := n.(*ast.CallExpr); ok && isLoginFailure(call) {
			lits = append(lits, errorLit{exprText(fset, call.Args[0]), "login_failed"})
		}
		cl, ok := n.(*ast.CompositeLit)
		if id, isID := typeIdent(cl); !ok || !isID || id != "httpError" {
			return true
		}
		var l errorLit
		for _, e := range cl.Elts {
			kv, _ := e.(*ast.KeyValueExpr)
			if kv == nil {
				continue
			}
			switch key, _ := kv.Key.(*ast.Ident); {
			case key != nil && key.Name == "status":
				l.status = exprText(fset, kv.Value)
			case key != nil && key.Name == "code":
				l.code, _ = strconv.Unquote(exprText(fset, kv.Value))
			}
		}
		lits = append(lits, l)
		return true
	})
	return lits
}

// isLoginFailure: call is h.loginFailure(status, ...), the constructor of
// login_failed, whose status each caller chooses.
func isLoginFailure(call *ast.CallExpr) bool {
	sel, ok := call.Fun.(*ast.SelectorExpr)
	return ok && sel.Sel.Name == "loginFailure" && len(call.Args) > 0
}

// typeIdent is the name of cl's type when it is a plain identifier.
func typeIdent(cl *ast.CompositeLit) (string, bool) {
	if cl == nil {
		return "", false
	}
	id, ok := cl.Type.(*ast.Ident)
	if !ok {
		return "", false
	}
	return id.Name, true
}

func exprText(fset *token.FileSet, e ast.Expr) string {
	var b strings.Builder
	if err := printer.Fprint(&b, fset, e); err != nil {
		return ""
	}
	return b.String()
}

// constValues evaluates each expression (499, http.StatusBadGateway) as an
// integer constant; 0 for one that is not a constant (a variable).
func constValues(t *testing.T, exprs []string) []int {
	t.Helper()
	var src strings.Builder
	src.WriteString("package p\nimport \"net/http\"\nvar _ = http.StatusOK\n")
	for i, e := range exprs {
		if strings.HasPrefix(e, "http.") || isNumber(e) {
			fmt.Fprintf(&src, "const c%d = %s\n", i, e)
		}
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "p.go", src.String(), 0)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := (&types.Config{Importer: importer.Default()}).Check("p", fset, []*ast.File{f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]int, len(exprs))
	for i := range exprs {
		if c, ok := pkg.Scope().Lookup(fmt.Sprintf("c%d", i)).(*types.Const); ok {
			v, _ := strconv.Atoi(c.Val().ExactString())
			out[i] = v
		}
	}
	return out
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}
