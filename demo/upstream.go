package demo

import (
	"encoding/json"
	"html/template"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Identity header names the gateway sends by default (docs/configuration.md, [headers]).
const (
	headerUser              = "X-Forwarded-User"
	headerEmail             = "X-Forwarded-Email"
	headerGroups            = "X-Forwarded-Groups"
	headerPreferredUsername = "X-Forwarded-Preferred-Username"
	headerAssertion         = "X-Portcullis-Jwt-Assertion"
)

var identityHeaders = []string{headerUser, headerEmail, headerGroups, headerPreferredUsername, headerAssertion}

// Received is what the demo upstream saw of a request; it answers it as JSON
// to clients that prefer application/json.
type Received struct {
	Method            string            `json:"method"`
	Path              string            `json:"path"`
	Query             string            `json:"query"`
	Host              string            `json:"host"`
	User              string            `json:"user"`
	Email             string            `json:"email"`
	Groups            string            `json:"groups"`
	PreferredUsername string            `json:"preferred_username"`
	Assertion         string            `json:"assertion"`
	Headers           map[string]string `json:"headers"` // canonical name -> values joined with ", "
}

// headerRow is one line of the HTML table.
type headerRow struct {
	Name, Value string
	Identity    bool
}

// NewUpstream returns the demo upstream: every path answers a page titled
// "Portcullis demo upstream" showing the request it received, its headers in
// a table with the identity headers highlighted, or the same as JSON
// (Received) when the Accept header prefers application/json.
func NewUpstream() http.Handler {
	return http.HandlerFunc(serveUpstream)
}

func serveUpstream(w http.ResponseWriter, r *http.Request) {
	rec := receive(r)
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Vary", "Accept")
	h.Set("X-Content-Type-Options", "nosniff")
	if prefersJSON(r.Header.Values("Accept")) {
		h.Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(rec)
		return
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	_ = upstreamTemplate.Execute(w, struct {
		Received
		Rows []headerRow
	}{rec, headerRows(r)})
}

// receive collects what the request carried.
func receive(r *http.Request) Received {
	rec := Received{
		Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Host: r.Host,
		User:              strings.Join(r.Header.Values(headerUser), ", "),
		Email:             strings.Join(r.Header.Values(headerEmail), ", "),
		Groups:            strings.Join(r.Header.Values(headerGroups), ", "),
		PreferredUsername: strings.Join(r.Header.Values(headerPreferredUsername), ", "),
		Assertion:         strings.Join(r.Header.Values(headerAssertion), ", "),
		Headers:           make(map[string]string, len(r.Header)),
	}
	for name, values := range r.Header {
		rec.Headers[name] = strings.Join(values, ", ")
	}
	return rec
}

// headerRows lists the headers sorted by name, with Host first.
func headerRows(r *http.Request) []headerRow {
	rows := []headerRow{{Name: "Host", Value: r.Host}}
	names := make([]string, 0, len(r.Header))
	for name := range r.Header {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		rows = append(rows, headerRow{
			Name:     name,
			Value:    strings.Join(r.Header[name], ", "),
			Identity: slices.Contains(identityHeaders, name),
		})
	}
	return rows
}

// prefersJSON reports whether the Accept header (RFC 9110 12.5.1) ranks
// application/json above text/html; a tie, wildcards only, or no header
// means HTML.
func prefersJSON(accept []string) bool {
	var qJSON, qHTML float64
	for _, field := range accept {
		for _, item := range strings.Split(field, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(item))
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if q, err = strconv.ParseFloat(v, 64); err != nil || q < 0 || q > 1 {
					continue
				}
			}
			switch mt {
			case "application/json":
				qJSON = max(qJSON, q)
			case "text/html":
				qHTML = max(qHTML, q)
			}
		}
	}
	return qJSON > 0 && qJSON > qHTML
}

var upstreamTemplate = template.Must(template.New("upstream").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Portcullis demo upstream</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
td{font-family:ui-monospace,monospace;word-break:break-all}tr.identity{background:#fff5cc;font-weight:bold}
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:bold}
nav a{margin-right:1rem}.none{color:#888}
</style></head>
<body>
<h1>Portcullis demo upstream</h1>
<p>This app sits behind the Portcullis gateway. It shows exactly what the gateway forwarded.</p>
<nav><a href="/">Home</a><a href="/admin/">/admin/ (admins only)</a><a href="/public/">/public/ (no login)</a><a href="/oauth2/sign_out">Sign out</a></nav>
<h2>Request</h2>
<dl>
<dt>Method</dt><dd id="method">{{.Method}}</dd>
<dt>Path</dt><dd id="path">{{.Path}}</dd>
<dt>User</dt><dd><span id="user">{{.User}}</span>{{if not .User}}<span class="none">(not sent)</span>{{end}}</dd>
<dt>Email</dt><dd><span id="email">{{.Email}}</span>{{if not .Email}}<span class="none">(not sent)</span>{{end}}</dd>
<dt>Groups</dt><dd><span id="groups">{{.Groups}}</span>{{if not .Groups}}<span class="none">(not sent)</span>{{end}}</dd>
<dt>Preferred username</dt><dd><span id="preferred-username">{{.PreferredUsername}}</span></dd>
</dl>
<h2>Headers received</h2>
<table id="headers"><thead><tr><th>Name</th><th>Value</th></tr></thead><tbody>
{{range .Rows}}<tr{{if .Identity}} class="identity"{{end}}><th>{{.Name}}</th><td>{{.Value}}</td></tr>
{{end}}</tbody></table>
<p>Highlighted rows are the identity headers set by the gateway; it removes any copies a client sends.</p>
</body></html>
`))
