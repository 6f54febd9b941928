package proxy

import (
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/portcullis/portcullis/policy"
)

// Branding puts an organisation's name, logo and support link on the
// gateway's HTML pages (sign-in errors, access denied, ...). Zero values
// leave them out. Everything is escaped where it is written; config checks
// that the URLs are absolute http(s) URLs.
type Branding struct {
	Name       string   // from config: branding.name, e.g. "Example Corp"
	LogoURL    *url.URL // from config: branding.logo_url; nil = no logo
	SupportURL *url.URL // from config: branding.support_url; nil = no link
}

// check refuses URLs that are not absolute http(s) URLs with a plain host.
// The logo's host goes into the pages' img-src, where url.Parse's hosts
// are read otherwise: "*" and "*.example.com" are wildcards there (images
// from every host, every subdomain), so a host must follow the Host rule
// (CheckPlainHost), which also refuses an empty host and the characters
// that would end the policy's source (" ;,'\"").
func (b Branding) check() error {
	for _, u := range []*url.URL{b.LogoURL, b.SupportURL} {
		if u != nil && ((u.Scheme != "http" && u.Scheme != "https") || CheckPlainHost(u) != nil) {
			return fmt.Errorf("proxy: branding URL %q must be an absolute http(s) URL", u.Redacted())
		}
	}
	return nil
}

// CheckPlainHost refuses a URL whose host the Host rule (policy.ParseHost)
// refuses: a DNS name in ASCII, an IPv4 address or a bracketed IPv6
// address, and a port in plain decimal. The configuration check calls it,
// so that check and serve agree.
func CheckPlainHost(u *url.URL) error {
	_, err := policy.ParseHost(u.Host)
	return err
}

// page is what pageTemplate shows.
type page struct {
	Title, Reason, Link, StatusText string
	Status                          int
	Brand                           Branding
	// SignOut and Switch are the sign-out form's action for "Sign out" and
	// for "Sign in as someone else" ("" = no such button).
	SignOut, Switch string
	// SignIn links to {prefix}/start (a forward-auth 401); Navigate goes
	// there at once.
	SignIn   string
	Navigate bool
}

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta name="robots" content="noindex">{{if .Navigate}}<meta http-equiv="refresh" content="{{.Refresh}}">{{end}}<title>{{.Title}}{{with .Brand.Name}} · {{.}}{{end}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}
h1{font-size:1.4em}p.s{color:#777}header{display:flex;align-items:center;gap:.8em;margin-bottom:2em}
header img{max-height:48px;max-width:12em}form{display:inline;margin-right:1em}</style></head>
<body>{{if or .Brand.Name .Brand.LogoURL}}<header>{{with .Brand.LogoURL}}<img src="{{.String}}" alt="">{{end}}{{with .Brand.Name}}<strong>{{.}}</strong>{{end}}</header>
{{end}}<h1>{{.Title}}</h1><p>{{.Reason}}</p>{{if .Link}}<p><a href="{{.Link}}">Try again</a></p>{{end}}{{if .SignIn}}<p><a href="{{.SignIn}}">Sign in</a></p>{{end}}
{{if .SignOut}}<p><form method="post" action="{{.SignOut}}"><button type="submit">Sign out</button></form>
{{with .Switch}}<form method="post" action="{{.}}"><button type="submit">Sign in as someone else</button></form>{{end}}</p>
{{end}}{{with .Brand.SupportURL}}<p><a href="{{.String}}">Contact support</a></p>
{{end}}<p class="s">{{.Status}} {{.StatusText}}</p></body></html>
`))

// writePage writes e as the gateway's HTML page. A signed-in user who is
// refused (403) is offered to sign out, or to sign out and sign in again
// as someone else, coming back to this request's URL: both are POST forms
// to {prefix}/sign_out, whose same-origin check they pass.
func (h *Handler) writePage(ex *exchange, r *http.Request, e *httpError) {
	hdr := ex.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	hdr.Set("Content-Security-Policy", h.pageCSP)
	ex.WriteHeader(e.status)
	if r.Method == http.MethodHead {
		return
	}
	p := page{Title: e.title, Reason: e.reason, Link: e.link, Status: e.status,
		StatusText: http.StatusText(e.status), Brand: h.cfg.Branding, SignIn: e.signIn, Navigate: e.navigate && e.signIn != ""}
	if e.status == http.StatusForbidden && ex.sess != nil {
		signOut := h.prefix + "/sign_out"
		start := h.prefix + "/start?rd=" + rdValue(h.returnURL(ex))
		p.SignOut, p.Switch = signOut, signOut+"?rd="+rdValue(start)
	}
	if e.confirm != "" {
		p.SignOut, p.Switch = e.confirm, ""
	}
	_ = pageTemplate.Execute(ex, p)
}

// Refresh is the meta refresh's content: at once, to SignIn.
func (p page) Refresh() string { return "0; url=" + p.SignIn }

// rdValue escapes s for an rd query parameter, keeping "/" as it is: the
// redirect policy refuses an encoded slash in a return URL's path, which
// browsers and servers read differently.
func rdValue(s string) string { return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/") }

// pageCSP is the Content-Security-Policy of the gateway's pages: nothing
// but inline style, and images from the logo's origin when there is a logo;
// no other site may frame them (their sign-out buttons). No form-action:
// browsers apply it to the redirects after a submission, and sign-out
// redirects to the provider.
func pageCSP(b Branding) string {
	csp := "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'"
	if b.LogoURL != nil {
		csp += "; img-src " + b.LogoURL.Scheme + "://" + b.LogoURL.Host
	}
	return csp
}
