package portcullis_test

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	toml "github.com/pelletier/go-toml/v2"

	"github.com/portcullis/portcullis/config"
)

// Every ```toml block of the documentation (README.md, docs/, the chart's
// README) is something a reader pastes into a file: it must load as serve
// loads it. A block may be a fragment; what it leaves out (public_url, a
// client_id, the secrets, an upstream, a route) is filled in, and the files
// it names under /etc/portcullis/ are written, so that only the block's own
// keys and values are judged.

func TestDocsTOMLSnippetsLoad(t *testing.T) {
	n := 0
	for _, file := range markdownFiles(t, ".") {
		md, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range tomlBlocks(md) {
			n++
			for _, p := range snippetProblems(t, b.text) {
				t.Errorf("%s:%d: %s", file, b.line, p)
			}
		}
	}
	if n < 10 {
		t.Errorf("found only %d toml blocks; the fence pattern no longer matches the docs", n)
	}
}

// TestDocsTOMLSnippetChecker: the checker finds what is wrong with a block,
// so that a checker that passes everything cannot pass.
func TestDocsTOMLSnippetChecker(t *testing.T) {
	md := strings.Join([]string{
		"# Doc", "", "```toml", "[session]", "lifetime = \"8h\"", "```", "",
		"```sh", "not = toml", "```", "",
		"```toml", "github_api_url = \"https://github.example.com/api/v3\"", "```", "",
		"```toml", "[server]", "shutdown_timout = \"30s\"", "```", "",
		"```toml", "[[routes]]", "path = \"/**\"", "upstream = \"nowhere\"", "```", "",
		"```toml", "[provider]", "kind = \"github\"", "client_id = \"Iv1.x\"",
		"client_secret_file = \"/etc/portcullis/github-secret\"", "```",
	}, "\n")
	blocks := tomlBlocks([]byte(md))
	var got []string
	for _, b := range blocks {
		got = append(got, strings.Join(snippetProblems(t, b.text), "; "))
	}
	want := []string{
		"",
		`key "github_api_url" is outside any table: name its table ([provider], ...)`,
		"shutdown_timout: unknown key; did you mean shutdown_timeout?",
		`routes[0].upstream: no [[upstreams]] entry is named "nowhere"`,
		"",
	}
	if len(got) != len(want) || blocks[1].line != 12 {
		t.Fatalf("blocks %+v, problems %q", blocks, got)
	}
	for i := range want {
		if want[i] == "" && got[i] != "" || !strings.Contains(got[i], want[i]) {
			t.Errorf("block %d (line %d): problems %q, want %q", i, blocks[i].line, got[i], want[i])
		}
	}
}

type tomlBlock struct {
	line int // of the opening fence
	text string
}

// tomlBlocks returns the fenced code blocks of md whose info string is toml.
func tomlBlocks(md []byte) []tomlBlock {
	return fencedBlocksIf(md, func(info string) bool { return info == "toml" })
}

// fencedBlocks are the fenced code blocks of md, whatever their language.
func fencedBlocks(md []byte) []tomlBlock {
	return fencedBlocksIf(md, func(string) bool { return true })
}

// fencedBlocksIf returns the fenced code blocks of md whose info string
// keep accepts.
func fencedBlocksIf(md []byte, keep func(info string) bool) []tomlBlock {
	var out []tomlBlock
	var cur *tomlBlock
	fence := ""
	for i, line := range strings.Split(string(md), "\n") {
		f := fenceMarker(line)
		switch {
		case fence == "" && f != "":
			fence = f
			if keep(strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(line), f[:1]))) {
				cur = &tomlBlock{line: i + 1}
			}
		case fence != "" && strings.HasPrefix(f, fence) && strings.TrimSpace(line) == f:
			if cur != nil {
				out = append(out, *cur)
			}
			fence, cur = "", nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	return out
}

// snippetProblems loads a documentation block, completed into a whole
// configuration, and returns its problems and warnings.
func snippetProblems(t *testing.T, text string) []string {
	t.Helper()
	var doc map[string]any
	if err := toml.Unmarshal([]byte(text), &doc); err != nil {
		return []string{err.Error()}
	}
	for k, v := range doc {
		switch v.(type) {
		case map[string]any, []any, []map[string]any:
		default:
			return []string{`key "` + k + `" is outside any table: name its table ([provider], ...)`}
		}
	}
	dir := t.TempDir()
	completeSnippet(doc)
	if err := writeNamedFiles(dir, doc, ""); err != nil {
		t.Fatal(err)
	}
	data, err := toml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "snippet.toml")
	cfg, err := config.Parse(p, data, nil)
	var problems config.Problems
	if errors.As(err, &problems) {
		var out []string
		for _, pr := range problems {
			out = append(out, pr.Key+": "+pr.Msg) // the line is the marshalled file's
		}
		return out
	}
	if err != nil {
		return []string{err.Error()}
	}
	return cfg.Warnings
}

// completeSnippet adds what a whole file needs and the block leaves out.
func completeSnippet(doc map[string]any) {
	table := func(name string) map[string]any {
		m, ok := doc[name].(map[string]any)
		if !ok {
			m = map[string]any{}
			doc[name] = m
		}
		return m
	}
	setDefault := func(m map[string]any, k string, v any) {
		if _, ok := m[k]; !ok {
			m[k] = v
		}
	}
	setDefault(table("server"), "public_url", "https://dash.example.com")
	prov := table("provider")
	setDefault(prov, "client_id", "client-id")
	_, issuer := prov["issuer"]
	_, authURL := prov["authorization_url"]
	if kind, _ := prov["kind"].(string); !issuer && !authURL && kind != "github" && kind != "google" {
		prov["issuer"] = "https://idp.example.com"
	}
	sess := table("session")
	if _, ok := sess["secrets_file"]; !ok {
		setDefault(sess, "secrets", []any{"q83vEjRWeJq83vBjVhBq7X7D5y0Jf1o4ZkqR8b2mTnE="})
	}
	setDefault(doc, "upstreams", []any{map[string]any{"name": "app", "url": "http://127.0.0.1:8080"}})
	setDefault(doc, "routes", []any{map[string]any{"path": "/**", "allow_email_domains": []any{"example.com"}}})
}

// writeNamedFiles points every /etc/portcullis/ path of the block into dir
// and writes there what the key reads.
func writeNamedFiles(dir string, v any, key string) error {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			s, ok := x.(string)
			if !ok || !strings.HasPrefix(s, "/etc/portcullis/") {
				if err := writeNamedFiles(dir, x, k); err != nil {
					return err
				}
				continue
			}
			p := filepath.Join(dir, path.Base(s))
			v[k] = p
			if err := os.WriteFile(p, []byte(namedFileContent(k)), 0o600); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range v {
			if err := writeNamedFiles(dir, x, key); err != nil {
				return err
			}
		}
	}
	return nil
}

// namedFileContent is a valid file for the key that names it.
func namedFileContent(key string) string {
	switch {
	case key == "secrets_file":
		return "q83vEjRWeJq83vBjVhBq7X7D5y0Jf1o4ZkqR8b2mTnE=\n"
	case key == "google_service_account_file":
		return `{"type": "service_account", "client_email": "gw@p.iam.gserviceaccount.com", "private_key": "-----BEGIN PRIVATE KEY-----\n"}`
	case slices.Contains([]string{"client_secret_file", "redis_password_file"}, key):
		return "not-a-real-secret\n"
	}
	return ""
}
