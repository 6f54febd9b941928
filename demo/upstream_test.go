package demo

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestUpstreamShowsRequestEscaped(t *testing.T) {
	srv := httptest.NewServer(NewUpstream())
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/admin/<b>x</b>?q=1", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	req.Header.Set("X-Forwarded-User", `<script>alert("u")</script>`)
	req.Header.Set("X-Forwarded-Email", "alice@example.com")
	req.Header.Set("X-Forwarded-Groups", "admins,staff")
	req.Header.Set("X-Other", `"><script>alert(2)</script>`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body := readBody(t, resp)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("Content-Type %q, want HTML", ct)
	}
	if strings.Contains(body, "<script>") || strings.Contains(body, "<b>x") {
		t.Errorf("unescaped input in the page:\n%s", body)
	}
	checks := []struct{ id, want string }{
		{"user", `&lt;script&gt;alert(&#34;u&#34;)&lt;/script&gt;`},
		{"email", "alice@example.com"},
		{"groups", "admins,staff"},
		{"path", "/admin/&lt;b&gt;x&lt;/b&gt;"},
		{"method", "GET"},
	}
	for _, c := range checks {
		re := regexp.MustCompile(`id="` + c.id + `">([^<]*)<`)
		m := re.FindStringSubmatch(body)
		if m == nil || m[1] != c.want {
			t.Errorf("element #%s = %v, want %q", c.id, m, c.want)
		}
	}
	for _, want := range []string{"<title>Portcullis demo upstream</title>", `href="/admin/"`, `href="/public/"`,
		`href="/oauth2/sign_out"`, `<tr class="identity"><th>X-Forwarded-User</th>`, `<tr><th>X-Other</th>`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestUpstreamAnswersJSON(t *testing.T) {
	srv := httptest.NewServer(NewUpstream())
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/x?y=2", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-Forwarded-User", "alice")
	req.Header.Set("X-Forwarded-Groups", "admins")
	req.Header.Set("X-Portcullis-Jwt-Assertion", "a.b.c")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var got Received
	if err := json.Unmarshal([]byte(readBody(t, resp)), &got); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if got.Method != "POST" || got.Path != "/api/x" || got.Query != "y=2" || got.User != "alice" ||
		got.Groups != "admins" || got.Email != "" || got.Assertion != "a.b.c" || got.Headers["X-Forwarded-User"] != "alice" {
		t.Errorf("received %+v", got)
	}
}

func TestPrefersJSON(t *testing.T) {
	tests := []struct {
		name   string
		accept []string
		want   bool
	}{
		{"absent", nil, false},
		{"json", []string{"application/json"}, true},
		{"browser", []string{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}, false},
		{"wildcard only", []string{"*/*"}, false},
		{"tie goes to html", []string{"application/json, text/html"}, false},
		{"json ranked higher", []string{"text/html;q=0.5, application/json"}, true},
		{"html ranked higher", []string{"application/json;q=0.5, text/html"}, false},
		{"json refused", []string{"application/json;q=0"}, false},
		{"bad q ignored", []string{"application/json;q=2"}, false},
		{"axios style", []string{"application/json, text/plain, */*"}, true},
		{"several fields", []string{"text/html;q=0.1", "application/json"}, true},
		{"case-insensitive type", []string{"Application/JSON"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := prefersJSON(tt.accept); got != tt.want {
				t.Errorf("prefersJSON(%q) = %v, want %v", tt.accept, got, tt.want)
			}
		})
	}
}
