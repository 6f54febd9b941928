package oidctest

import (
	"html/template"
	"net/http"
	"net/url"
)

var consentPage = template.Must(template.New("consent").Parse(`<!doctype html>
<title>consent</title><p id="consent">Allow the application to sign you in?</p>
<a id="allow" href="{{.Allow}}">Allow</a> <a id="deny" href="{{.Deny}}">Deny</a>`))

// consent serves Options.Consent: the consent page of an authorization
// request without an answer yet, or the denial of one answered "deny". It
// reports whether it answered; an allowed request goes on to the code.
func (p *Provider) consent(w http.ResponseWriter, r *http.Request, q url.Values, redirect string) bool {
	switch q.Get("consent") {
	case "allow":
		return false
	case "deny":
		back := url.Values{"error": {"access_denied"}, "state": {q.Get("state")}}
		if p.opts.DenyDescription != "" {
			back.Set("error_description", p.opts.DenyDescription)
		}
		p.redirectBack(w, r, redirect, back)
		return true
	}
	answer := func(v string) string {
		a := url.Values{}
		for k, vs := range q {
			a[k] = vs
		}
		a.Set("consent", v)
		return r.URL.Path + "?" + a.Encode()
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = consentPage.Execute(w, map[string]string{"Allow": answer("allow"), "Deny": answer("deny")})
	return true
}
