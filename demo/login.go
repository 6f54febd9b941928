package demo

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
)

// login is the demo provider's own login page: a username and password form
// for one authorization request. The request id travels in a hidden field;
// it is unguessable and bound to the request op created, which makes the form
// useless to a cross-site attacker who does not know it.
type login struct {
	store    *storage
	users    *userDirectory
	callback func(ctx context.Context, requestID string) string // op's /authorize/callback URL
	logger   *slog.Logger
}

// loginPage is what the template shows; every field is escaped by html/template.
type loginPage struct {
	RequestID string
	Username  string
	Error     string
	Users     []string
}

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · Portcullis demo provider</title>
<style>
body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0}
main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}
label{display:block;margin-top:1rem}input{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
button{margin-top:1.5rem;width:100%;padding:.6rem;font-size:1rem}
.error{color:#a40000;background:#fdecea;padding:.5rem;border-radius:4px}.hint{color:#555;font-size:.9rem}
</style></head>
<body><main>
<h1>Portcullis demo provider</h1>
{{if .Error}}<p class="error" id="error" role="alert">{{.Error}}</p>{{end}}
{{if .RequestID}}
<form method="post" action="/login">
<input type="hidden" name="id" value="{{.RequestID}}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" value="{{.Username}}" required autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="submit" type="submit">Sign in</button>
</form>
<p class="hint">Demo users: {{range $i, $u := .Users}}{{if $i}}, {{end}}<code>{{$u}}</code>{{end}}. Their passwords are printed by <code>portcullis demo</code>.</p>
{{end}}
</main></body></html>
`))

// ServeHTTP shows the form (GET) or checks the credentials (POST).
func (l *login) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// No form-action: browsers apply it to the redirects after the POST,
	// which lead to the relying party's origin.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		id := r.URL.Query().Get("authRequestID")
		if _, err := l.store.AuthRequestByID(r.Context(), id); err != nil {
			l.render(w, http.StatusBadRequest, loginPage{Error: "This sign-in request is unknown or has expired. Go back to the application and try again."})
			return
		}
		l.render(w, http.StatusOK, loginPage{RequestID: id})
	case http.MethodPost:
		l.submit(w, r)
	default:
		h.Set("Allow", "GET, HEAD, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// submit checks the posted credentials; on success it completes the
// authorization request and sends the browser to op's callback, which issues
// the code.
func (l *login) submit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		l.render(w, http.StatusBadRequest, loginPage{Error: "The form could not be read."})
		return
	}
	id, name := r.PostForm.Get("id"), r.PostForm.Get("username")
	if _, err := l.store.AuthRequestByID(r.Context(), id); err != nil {
		l.render(w, http.StatusBadRequest, loginPage{Error: "This sign-in request is unknown or has expired. Go back to the application and try again."})
		return
	}
	u, ok := l.users.authenticate(name, r.PostForm.Get("password"))
	if !ok {
		l.logger.Info("demo provider: sign-in failed", "username", name)
		l.render(w, http.StatusUnauthorized, loginPage{RequestID: id, Username: name, Error: "Wrong username or password."})
		return
	}
	if err := l.store.complete(id, u); err != nil {
		l.render(w, http.StatusBadRequest, loginPage{Error: "This sign-in request is unknown or has expired. Go back to the application and try again."})
		return
	}
	l.logger.Info("demo provider: signed in", "username", u.Name)
	http.Redirect(w, r, l.callback(r.Context(), id), http.StatusSeeOther)
}

func (l *login) render(w http.ResponseWriter, status int, p loginPage) {
	p.Users = l.users.names()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := loginTemplate.Execute(w, p); err != nil {
		l.logger.Error("demo provider: login page", "err", err)
	}
}
