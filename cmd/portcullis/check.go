package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/net/http/httpguts"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/proxy"
)

// multiFlag collects a repeatable flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// runCheck is `portcullis check --config FILE [--request "METHOD URL" --identity k=v --header "Name: value" ...]`.
func runCheck(args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := newCommand("check", `--config FILE [--strict] [--request "METHOD URL" [--identity k=v ...] [--header "Name: value" ...]]`,
		"Validates a configuration file as serve does (the OTEL_* tracing environment\nincluded) and prints every problem and warning as FILE:LINE: key: message.\nExit code 0: valid; 2: problems (or warnings with --strict); 3: --request denied.")
	path := fs.String("config", "", configUsage)
	strict := fs.Bool("strict", false, "treat warnings (such as unreachable routes) as problems: exit code 2")
	request := fs.String("request", "", "explain which route decides the request `\"METHOD URL\"` and how (exit code 3 when refused)")
	var idFlags multiFlag
	fs.Var(&idFlags, "identity", "`k=v` of the hypothetical identity of --request (sub, email, email_verified, groups, scope, claims.PATH); repeatable")
	var headerFlags multiFlag
	fs.Var(&headerFlags, "header", "`\"Name: value\"` header of --request, such as a WebDAV Destination, Depth or Overwrite (credentials are --identity's); repeatable")
	if err := fs.parse(args, stdout, stderr); err != nil {
		return err
	}
	requested := false // an empty --request is a malformed one, not none
	fs.Visit(func(f *flag.Flag) { requested = requested || f.Name == "request" })
	if len(idFlags)+len(headerFlags) > 0 && !requested {
		fmt.Fprintf(stderr, "%s: --identity and --header describe a --request; give --request too\n", fs.Name())
		fs.printHelp(stderr)
		return &exitError{code: 2}
	}
	cfg, err := loadConfig(*path, env, stderr)
	if err != nil {
		return err
	}
	// Build what serve builds (provider client, session store, handler and
	// the OTEL_* tracing setup; none of it dials anything), so that check
	// refuses whatever serve would refuse.
	g, err := buildGateway(cfg, slog.New(slog.DiscardHandler), env)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cfg.Path, err)
		return &exitError{code: 2, err: fmt.Errorf("%s: serve would refuse this configuration", cfg.Path)}
	}
	defer g.close()
	for _, w := range cfg.Warnings {
		fmt.Fprintln(stderr, w)
	}
	if *strict && len(cfg.Warnings) > 0 {
		return &exitError{code: 2, err: fmt.Errorf("%s: %d warning(s) and --strict", cfg.Path, len(cfg.Warnings))}
	}
	if !requested {
		fmt.Fprintf(stdout, "%s: OK\n", cfg.Path)
		return nil
	}
	return explainFlags(stdout, cfg.Path, g.current().handler, *request, idFlags, headerFlags)
}

// explainFlags explains request (explain) with the identity of --identity
// flags idFlags and the headers of --header flags headerFlags.
func explainFlags(w io.Writer, file string, h *proxy.Handler, request string, idFlags, headerFlags []string) error {
	id, err := parseIdentity(idFlags)
	if err != nil {
		return usageError("%v", err)
	}
	header, err := parseHeaders(headerFlags)
	if err != nil {
		return usageError("%v", err)
	}
	return explain(w, file, h, request, header, id)
}

// explain prints which route decides a request and what it decides; a
// refusal is exit code 3. A gateway endpoint is answered by serve itself:
// named, exit code 0 (a path under the prefix that names none is serve's
// 404, exit code 3). The gateway's handler decides it (proxy.Handler.
// Explain), as serve would: the aliases of its path and a _method in its
// query included, so that the verdict is serve's.
func explain(w io.Writer, file string, h *proxy.Handler, request string, header http.Header, id *portcullis.Identity) error {
	method, rawURL, err := splitRequest(request)
	if err != nil {
		return err
	}
	denied := &exitError{code: 3}
	if method != strings.ToUpper(method) { // the handler refuses it too; this names it
		fmt.Fprintf(w, "decision: refused (400): method %q is not upper-case\n", shownMethod(method))
		return denied
	}
	if why := identityRefusal(id); why != "" {
		fmt.Fprintf(w, "decision: refused: serve refuses this identity (its sign-in fails with 502, its bearer token is 401): %s\n", why)
		return denied
	}
	ex, err := h.Explain(method, rawURL, header, id)
	var refused *proxy.RefusedError
	switch {
	case errors.As(err, &refused):
		fmt.Fprintf(w, "decision: refused (%d): %s\n", refused.Status, refused.Reason)
		return denied
	case err != nil:
		fmt.Fprintf(w, "path: %s\ndecision: refused: %v\n", ex.Path, err)
		return denied
	case ex.Endpoint != "":
		// serve answers it itself, on every host and whatever the routes
		// say (docs/endpoints.md): not a refusal, and no route's verdict.
		fmt.Fprintf(w, "path: %s\nroute: none: the path is the gateway's own endpoint %s under server.prefix\n", ex.Path, ex.Endpoint)
		fmt.Fprintf(w, "decision: gateway endpoint: serve answers it itself, as docs/endpoints.md describes; no route decides it\n")
		return nil
	case ex.Route == nil:
		fmt.Fprintf(w, "path: %s\nroute: none\ndecision: refused (404 in proxy mode, 403 from forward-auth): no route matches\n", ex.Path)
		return denied
	}
	printRouteDecision(w, file, ex)
	if ex.Outcome != portcullis.OutcomeAllow && ex.Outcome != portcullis.OutcomePublic {
		return denied
	}
	return nil
}

// splitRequest splits --request "METHOD URL" into the method and a URL
// the gateway's request parser takes.
func splitRequest(request string) (method, rawURL string, err error) {
	method, rawURL, ok := strings.Cut(strings.TrimSpace(request), " ")
	rawURL = strings.TrimSpace(rawURL)
	if !ok || strings.IndexFunc(rawURL, unicode.IsSpace) >= 0 {
		got := shownURL(strings.TrimSpace(request)) // no method: the URL alone
		if ok {
			got = shownMethod(method) + " " + shownURL(rawURL)
		}
		return "", "", usageError(`--request must be "METHOD URL", got %q`, got)
	}
	if err := proxy.CheckRequestURL(rawURL); err != nil {
		return "", "", usageError("--request: %v: %q", err, shownURL(rawURL))
	}
	return method, rawURL, nil
}

// shownURL is a --request URL as a usage error quotes it: without its user
// information, query and fragment, which may hold a password or a token
// (standard error goes to CI logs), each shown as "…", as is what follows
// a space, which no URL holds. A URL that does not parse shows its scheme
// alone, or "…" without one (a relative URL's query is no less secret).
func shownURL(raw string) string {
	raw, _, spaced := strings.Cut(raw, " ")
	u, err := url.Parse(raw)
	if err != nil {
		if scheme, _, ok := strings.Cut(raw, ":"); ok && isScheme(scheme) {
			return scheme + ":…"
		}
		return "…"
	}
	shown := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	s := shown.String()
	if u.User != nil {
		s = strings.Replace(s, "//", "//…@", 1)
	}
	if u.RawQuery != "" || u.ForceQuery {
		s += "?…"
	}
	if strings.Contains(raw, "#") {
		s += "#…"
	}
	if spaced {
		s += " …"
	}
	return s
}

// shownMethod is --request's first word as a usage error quotes it: as it
// is when it is a token, as methods are, else as a URL (shownURL): a URL
// given without a method is in its place.
func shownMethod(method string) string {
	if httpguts.ValidHeaderFieldName(method) {
		return method
	}
	return shownURL(method)
}

// isScheme reports whether s is a URL scheme (RFC 3986 3.1).
func isScheme(s string) bool {
	for i, c := range s {
		letter := 'a' <= c|0x20 && c|0x20 <= 'z'
		if !letter && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return s != ""
}

// printRouteDecision prints the route that decides ex (its line in file)
// and its decision, with the reason.
func printRouteDecision(w io.Writer, file string, ex proxy.Explanation) {
	route := ex.Route
	fmt.Fprintf(w, "path: %s\nroute: %s at %s:%d (path %q", ex.Path, route.Label(), file, route.Line, route.Path)
	if route.Host != "" {
		fmt.Fprintf(w, ", host %q", route.Host)
	}
	fmt.Fprintf(w, ", upstream %q)\n", route.Upstream)
	if ex.Why != "" {
		fmt.Fprintf(w, "why this route: %s\n", ex.Why)
	}
	fmt.Fprintf(w, "decision: %s\n", ex.Outcome)
	if ex.Reason != "" {
		fmt.Fprintf(w, "reason: %s\n", ex.Reason)
	}
}

// parseHeaders builds the headers of --header flags ("Name: value"). The
// request's host is its URL's and its credentials --identity's: a Host,
// Authorization, Proxy-Authorization or Cookie is refused rather than
// explained as something serve would decide otherwise.
func parseHeaders(flags []string) (http.Header, error) {
	header := http.Header{}
	for i, f := range flags {
		name, value, ok := strings.Cut(f, ":")
		value = strings.TrimSpace(value)
		if !ok || !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(value) {
			return nil, fmt.Errorf("%s: want \"Name: value\"", headerFlagName(i, name, ok))
		}
		switch name = http.CanonicalHeaderKey(name); name {
		case "Host", "Authorization", "Proxy-Authorization", "Cookie":
			return nil, fmt.Errorf("--header %s: the host is the --request URL's, credentials are --identity's", name)
		}
		header.Add(name, value)
	}
	return header, nil
}

// headerFlagName names the i-th --header flag in an error: by its header's
// name when it has a valid one before its colon, else by its place. Never
// its value, which may be a credential given by mistake (CI keeps stderr).
func headerFlagName(i int, name string, colon bool) string {
	if colon && httpguts.ValidHeaderFieldName(name) {
		return "--header " + name
	}
	return fmt.Sprintf("--header #%d (not shown)", i+1)
}

// parseIdentity builds the hypothetical identity of --identity flags; no
// flags at all means an anonymous request.
func parseIdentity(flags []string) (*portcullis.Identity, error) {
	if len(flags) == 0 {
		return nil, nil
	}
	id := &portcullis.Identity{EmailVerified: true, Claims: map[string]any{}}
	for _, f := range flags {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("--identity %q: want key=value", f)
		}
		if err := setIdentity(id, k, v); err != nil {
			return nil, err
		}
	}
	return id, nil
}

func setIdentity(id *portcullis.Identity, k, v string) error {
	switch {
	case k == "sub":
		id.Subject = v
		id.Claims["sub"] = v
	case k == "email":
		id.Email = v
		id.Claims["email"] = v
	case k == "email_verified" && v == "absent":
		// a provider that sends none (Entra ID): unverified, without the claim
		id.EmailVerified = false
		delete(id.Claims, "email_verified")
	case k == "email_verified":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("--identity email_verified=%q: want true, false or absent", v)
		}
		id.EmailVerified = b
		id.Claims["email_verified"] = b
	case k == "groups":
		id.Groups = splitNonEmpty(v, ",")
	case k == "scope":
		id.Scopes = splitNonEmpty(v, " ")
	case strings.HasPrefix(k, "claims.") && len(k) > len("claims."):
		setClaim(id.Claims, strings.Split(k[len("claims."):], "."), v)
	default:
		return fmt.Errorf("--identity: unknown key %q (sub, email, email_verified, groups, scope, claims.PATH)", k)
	}
	return nil
}

func setClaim(claims map[string]any, path []string, v string) {
	for _, p := range path[:len(path)-1] {
		next, ok := claims[p].(map[string]any)
		if !ok {
			next = map[string]any{}
			claims[p] = next
		}
		claims = next
	}
	claims[path[len(path)-1]] = v
}

func splitNonEmpty(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
