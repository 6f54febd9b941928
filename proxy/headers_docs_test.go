package proxy

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestRequestHygieneDocsListHeaders: the header lists of docs/requests.md
// ("Request hygiene", "Headers") name exactly what the gateway removes: a
// name added to alwaysScrubbed or to a peer-claim list and not to the page
// leaves an operator believing an application may read it, and a name on
// the page and not in the code is a removal that does not happen.
func TestRequestHygieneDocsListHeaders(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "requests.md"))
	if err != nil {
		t.Fatal(err)
	}
	removed, fromPeers := hygieneBullets(t, string(b))

	// The identity headers are "every identity header the gateway sets"
	// on the page (docs/headers.md lists them), and X-Forwarded-For,
	// -Proto and -Host are set by the gateway after the removal.
	implied := []string{"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups",
		"X-Forwarded-Preferred-Username", "X-Forwarded-Access-Token", "X-Portcullis-Jwt-Assertion",
		authRequestUser, authRequestEmail, authRequestGroups, authRequestUsername, "X-Auth-Request-Access-Token",
		"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"}
	// In backquotes but no header the lists remove: PHP's spelling of
	// X-Forwarded-User, the Cookie header the gateway's cookies are taken
	// from, Envoy's and Traefik's settings, the config key.
	mentioned := []string{"HTTP_X_FORWARDED_USER", "Cookie", "prefix_rewrite", "ReplacePath", "trusted_proxies"}
	compareHeaderLists(t, "docs/requests.md, removed from every request", docNames(removed, false, mentioned), alwaysScrubbed, implied)
	compareHeaderLists(t, "docs/requests.md, removed from untrusted peers", docNames(fromPeers, true, mentioned), peerClaimHeaders, nil)
}

// hygieneBullets returns the text of the "Removed" bullet and of the
// "From peers outside trusted_proxies" bullet with its sub-list.
func hygieneBullets(t *testing.T, doc string) (removed, fromPeers string) {
	t.Helper()
	_, sec, ok := strings.Cut(doc, "\n## Request hygiene\n")
	if ok {
		_, sec, ok = strings.Cut(sec, "\n### Headers\n")
	}
	if !ok {
		t.Fatal(`docs/requests.md: no "Request hygiene" section with "Headers"`)
	}
	m := regexp.MustCompile(`(?s)\n- \*\*Removed\*\*:(.*?)\n- \*\*From peers outside(.*?)\n\n`).FindStringSubmatch(sec)
	if m == nil {
		t.Fatal("docs/requests.md: the Removed and From peers bullets are not where they were")
	}
	return m[1], m[2]
}

// docNames are the header names in backquotes in text, folded: "`-Name`"
// after "`X-MS-Client-Principal`" is X-MS-Client-Principal-Name, "every
// `X-MS-Token-…`" (or "`X-Ms-Token-*`") the prefix X-MS-Token-*. With
// asides, text in parentheses (examples, who believes a header) is left
// out; so are the names of skip.
func docNames(text string, asides bool, skip []string) []string {
	text = strings.Join(strings.Fields(text), " ")
	if asides {
		text = regexp.MustCompile(`\([^()]*\)`).ReplaceAllString(text, "")
	}
	var names []string
	last := ""
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(text, -1) {
		n := m[1]
		switch {
		case strings.HasPrefix(n, "-") && last != "":
			n = last + n
		case slices.Contains(skip, n) || !regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]*(…|\*)?$`).MatchString(n):
			continue // "_", "Upgrade: h2c"
		default:
			last = n
		}
		if p, ok := strings.CutSuffix(n, "…"); ok {
			n = p + "*"
		}
		names = append(names, foldHeaderName(n))
	}
	return names
}

// compareHeaderLists reports names of code (and not of implied) missing
// from doc, and names of doc that are in neither.
func compareHeaderLists(t *testing.T, what string, doc, code, implied []string) {
	t.Helper()
	fold := func(l []string) []string {
		out := make([]string, len(l))
		for i, n := range l {
			out[i] = foldHeaderName(n)
		}
		return out
	}
	code, implied = fold(code), fold(implied)
	for _, n := range code {
		if !slices.Contains(doc, n) && !slices.Contains(implied, n) {
			t.Errorf("%s: %s is removed by the code but not in the docs' list", what, n)
		}
	}
	for _, n := range doc {
		if !slices.Contains(code, n) {
			t.Errorf("%s: the docs list %s, which the code does not remove", what, n)
		}
	}
}

// TestSnippetsRemovePeerClaims: every forward-auth snippet of
// docs/forward-auth removes each header of the peer-claim lists that proxy
// mode removes from untrusted peers, so that a name added to those lists
// and not to a snippet fails here rather than reaching applications behind
// that front proxy. The prefixes (X-Ms-Token-*) are removed by Caddy alone:
// the others remove names only, and the docs say to add the names an
// application reads. A header the front proxy sets or removes itself
// needs no line of its own. Comments do not count.
func TestSnippetsRemovePeerClaims(t *testing.T) {
	itself := map[string][]string{
		// Traefik sets X-Real-Ip and X-Forwarded-Server, and removes a
		// client's X-Forwarded-Tls-Client-Cert and -Info.
		"traefik.yaml": {"X-Real-Ip", "X-Forwarded-Server", "X-Forwarded-Tls-Client-Cert", "X-Forwarded-Tls-Client-Cert-Info"},
		// ingress-nginx sets X-Real-IP and X-Forwarded-Scheme.
		"ingress-nginx.yaml": {"X-Real-Ip", "X-Forwarded-Scheme"},
	}
	token := regexp.MustCompile(`[A-Za-z0-9*_-]+`)
	comment := regexp.MustCompile(`(?m)^\s*#.*$`)
	for _, file := range []string{"nginx.conf", "ingress-nginx.yaml", "Caddyfile", "traefik.yaml", "envoy.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "docs", "forward-auth", file))
		if err != nil {
			t.Fatal(err)
		}
		named := map[string]bool{}
		for _, tok := range token.FindAllString(comment.ReplaceAllString(string(b), ""), -1) {
			named[strings.ToLower(strings.TrimLeft(tok, "-"))] = true
		}
		for _, n := range peerClaimHeaders {
			prefix := strings.HasSuffix(n, "*")
			if prefix && file != "Caddyfile" || slices.Contains(itself[file], n) {
				continue
			}
			if !named[strings.ToLower(n)] {
				t.Errorf("docs/forward-auth/%s does not remove %s, which proxy mode removes from untrusted peers", file, n)
			}
		}
	}
}

// TestForwardAuthDocsNamePrefixes: the prefixes docs/forward-auth.md says
// Caddy removes (and the other front proxies cannot) are the peer-claim
// lists' prefixes, no more and no fewer.
func TestForwardAuthDocsNamePrefixes(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "docs", "forward-auth.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Caddy removes their prefixes \(([^)]*)\)`).FindSubmatch(b)
	if m == nil {
		t.Fatal("docs/forward-auth.md: no list of the prefixes Caddy removes")
	}
	var code []string
	for _, n := range peerClaimHeaders {
		if strings.HasSuffix(n, "*") {
			code = append(code, n)
		}
	}
	compareHeaderLists(t, "prefixes removed by Caddy (docs/forward-auth.md)", docNames(string(m[1]), false, nil), code, nil)
}
