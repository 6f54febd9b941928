package proxy

import (
	"log/slog"
	"net/http"
	"net/textproto"
	"slices"
	"sort"
	"strings"
	"time"
	"unique"
	"unsafe"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/internal/cache"
	"github.com/portcullis/portcullis/internal/logattr"
)

// Default identity header names (docs/configuration.md, [headers]) and the forward-auth
// response names (docs/headers.md).
const (
	authRequestUser     = "X-Auth-Request-User"
	authRequestEmail    = "X-Auth-Request-Email"
	authRequestGroups   = "X-Auth-Request-Groups"
	authRequestUsername = "X-Auth-Request-Preferred-Username"
)

// alwaysScrubbed are removed from every request before forwarding (docs/requests.md
// request hygiene). X-Forwarded-For/Proto/Host are listed so that their
// underscore spellings go too; the gateway sets them afterwards.
var alwaysScrubbed = []string{
	"Forwarded", "X-Forwarded-Prefix", "X-Forwarded-Port", "X-Forwarded-Uri",
	"X-Original-URL", "X-Original-URI", "X-Rewrite-URL",
	// A path prefix the application strips before routing: gunicorn's
	// SCRIPT_NAME request header (honoured from loopback by default),
	// PATH_INFO, and the X-Script-Name of Flask's ReverseProxied recipe.
	"Script-Name", "Path-Info", "X-Script-Name",
	"X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override",
	// Another method or path than the one decided, which no front proxy
	// may steer past the decision either: the method ingress-nginx's and
	// Traefik's auth requests carry (X-Original-Method,
	// X-Forwarded-Method), the path before a rewrite that Kong, Envoy
	// (prefix_rewrite) and Traefik (ReplacePath) pass on.
	"X-Original-Method", "X-Forwarded-Method",
	"X-Forwarded-Path", "X-Envoy-Original-Path", "X-Replaced-Path",
	// Another host than the one decided, even from a trusted proxy (which
	// may pass the client's on): IIS's ARR and ASP.NET's forwarded-headers
	// middleware write X-Original-Host, and some applications route or
	// rebuild their own URLs (links, redirects, password-reset mails) from
	// it or X-Host.
	"X-Original-Host", "X-Host",
	"X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host",
	"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups",
	"X-Forwarded-Preferred-Username", "X-Forwarded-Access-Token", "X-Portcullis-Jwt-Assertion",
	// The whole X-Auth-Request- family, not only the names the gateway
	// answers forward-auth with (authRequestUser, ..., returnURIHeader):
	// oauth2-proxy, which applications move from, sets and reads more of
	// them (X-Auth-Request-Access-Token, -Redirect), and a name left out
	// reached the application as the client wrote it.
	"X-Auth-Request-*",
}

// headerSet matches header names case-insensitively with '_' and '.' read
// as '-' (CGI, Rack and WSGI turn '-' into '_', PHP turns '.' into '_' as
// well, so "X_Forwarded.User" reaches a PHP app as X-Forwarded-User),
// without allocating: names are bucketed by length, in a slice indexed by
// it (no hashing per header: the lists hold dozens of names and every
// request header is looked up in two of them). A name ending in '*' is a
// prefix ("X-Pomerium-Claim-*"), which matches every longer name: the few
// there are cost one short comparison each per header, most ending at the
// first bytes.
type headerSet struct {
	byLen    [][]string // folded names ("x-forwarded-user"), at their length
	prefixes []string   // folded prefixes ("x-pomerium-claim-"), without '*'
}

func newScrubSet(hn Headers) headerSet {
	names := append([]string(nil), alwaysScrubbed...)
	names = append(names, hn.User, hn.Email, hn.Groups, hn.PreferredUsername, hn.AccessToken, hn.Assertion)
	for name := range hn.Claims {
		names = append(names, name)
	}
	return newHeaderSet(names...)
}

// newHeaderSet is the set of names ("" is left out).
func newHeaderSet(names ...string) headerSet {
	var s headerSet
	for _, n := range names {
		if n == "" {
			continue
		}
		f := foldHeaderName(n)
		if s.has(f) {
			continue
		}
		if p, ok := strings.CutSuffix(f, "*"); ok {
			s.prefixes = append(s.prefixes, p)
			continue
		}
		if len(f) >= len(s.byLen) {
			s.byLen = append(s.byLen, make([][]string, len(f)+1-len(s.byLen))...)
		}
		s.byLen[len(f)] = append(s.byLen[len(f)], f)
	}
	return s
}

func foldHeaderName(n string) string {
	return strings.NewReplacer("_", "-", ".", "-").Replace(strings.ToLower(n))
}

// has reports whether name is in the set, or longer than one of its
// prefixes and starting with it.
func (s headerSet) has(name string) bool {
	if len(name) < len(s.byLen) {
		for _, f := range s.byLen[len(name)] {
			if foldEqual(name, f) {
				return true
			}
		}
	}
	for _, p := range s.prefixes {
		if len(name) > len(p) && foldEqual(name[:len(p)], p) {
			return true
		}
	}
	return false
}

// foldEqual compares name with a folded name, ASCII case-insensitively and
// with '_' and '.' equal to '-'.
func foldEqual(name, folded string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		case c == '_' || c == '.':
			c = '-'
		}
		if c != folded[i] {
			return false
		}
	}
	return true
}

// deleteFrom removes every header of the set from hdr, in any spelling.
func (s headerSet) deleteFrom(hdr http.Header) {
	for k := range hdr {
		if s.has(k) {
			delete(hdr, k)
		}
	}
}

// scrubHeaders removes every header of the set from hdr, and an h2c
// upgrade request (docs/requests.md: an h2c upgrade through a proxy smuggles
// requests past it).
func (s headerSet) scrubHeaders(hdr http.Header) {
	s.deleteFrom(hdr)
	for _, v := range hdr["Upgrade"] {
		if strings.Contains(strings.ToLower(v), "h2c") {
			delete(hdr, "Upgrade")
			delete(hdr, "Connection")
			delete(hdr, "Http2-Settings")
			break
		}
	}
}

// headerNames are the configured identity header names, canonicalised once.
type headerNames struct {
	user, email, groups, username, accessToken, assertion string
	claims                                                []claimHeader
}

type claimHeader struct {
	name, path string
}

func newHeaderNames(hn Headers) headerNames {
	c := func(s string) string {
		if s == "" {
			return ""
		}
		return textproto.CanonicalMIMEHeaderKey(s)
	}
	n := headerNames{user: c(hn.User), email: c(hn.Email), groups: c(hn.Groups),
		username: c(hn.PreferredUsername), accessToken: c(hn.AccessToken), assertion: c(hn.Assertion)}
	for name, path := range hn.Claims {
		if name != "" && path != "" {
			n.claims = append(n.claims, claimHeader{c(name), path})
		}
	}
	sort.Slice(n.claims, func(i, j int) bool { return n.claims[i].name < n.claims[j].name })
	return n
}

// Slots of identityValues.vals, one per identity header; the claim
// headers follow from slotClaims, in headerNames.claims order.
const (
	slotUser = iota
	slotEmail
	slotGroups
	slotUsername
	slotAccessToken // the session's access token in the configured form
	slotAssertion
	slotClaims
)

// identityValues are the header values of one identity for one host, ready
// to be put into a header map: one string per slot, "" where no header is
// sent. Requests share them and get one-element slices of vals whose
// capacity is their length, so an append copies; vals is one allocation
// however many headers there are (with 10,000 identities cached, a slice
// per header was about 160 bytes more each).
// renewAt is a duration since monoBase rather than a time.Time, which is
// three words: the struct is then 32 bytes, not 48.
type identityValues struct {
	vals    []string
	renewAt time.Duration // monoTime of when the assertion is due for renewal
}

// monoBase is what monoTime counts from.
var monoBase = time.Now()

// monoTime is t as a duration since monoBase, on the monotonic clock when
// t has its reading (time.Now's), as time.Time's own comparisons are: a
// step of the wall clock neither delays nor hastens a renewal.
func monoTime(t time.Time) time.Duration { return t.Sub(monoBase) }

// header is the value of slot as a header map value, or nil.
func (v *identityValues) header(slot int) []string {
	if v.vals[slot] == "" {
		return nil
	}
	return v.vals[slot : slot+1 : slot+1]
}

// values computes the header values of id (without assertion), each
// formatted by idp.HeaderValue, the one rule for identity values in
// headers (idp.IdentityValue, which refuses look-alikes too, for the user,
// email, groups and preferred_username). idp refuses at login and at
// bearer verification every identity with a value the rule refuses, so a
// refusal here is possible only for an identity checked under other
// settings (a session saved before a [headers] claims entry was added, or
// by an older version): the header is then left out, never altered, and
// the refusal is logged with the header's name.
func (n *headerNames) values(id *portcullis.Identity, accessToken string, log *slog.Logger) *identityValues {
	v := &identityValues{vals: make([]string, slotClaims+len(n.claims))}
	one := func(slot int, name string, val any) {
		format := idp.HeaderValue
		if slot < slotAccessToken {
			format = idp.IdentityValue // the user, email, groups and preferred_username
		}
		hv, err := format(val)
		if err != nil {
			hv = ""
			if name != "" {
				log.Warn("proxy: identity header left out", "header", name, subAttr(id.Subject), logattr.Err(err))
			}
		}
		v.vals[slot] = hv
	}
	one(slotUser, n.user, id.Subject)
	one(slotEmail, n.email, verifiedEmail(id))
	one(slotGroups, n.groups, id.Groups)
	// The users of a team share their groups value: one copy of it rather
	// than one per cached identity (a directory's lists are hundreds of
	// bytes).
	v.vals[slotGroups] = unique.Make(v.vals[slotGroups]).Value()
	one(slotUsername, n.username, id.PreferredUsername)
	for i, c := range n.claims {
		if cv, ok := id.Claim(c.path); ok {
			one(slotClaims+i, c.name, cv)
		}
	}
	if n.accessToken != "" && accessToken != "" {
		// A copy: a bearer token is a slice of the request's header.
		v.vals[slotAccessToken] = strings.Clone(accessTokenValue(n.accessToken, accessToken))
	}
	return v
}

// carriesToken reports whether v's access-token value is token's in the
// form of the header name: the cached value can then be sent for a bearer
// request rather than one built for it. A mismatch (an identity shared by
// two tokens, values cached without the token) builds the value instead.
func (v *identityValues) carriesToken(name, token string) bool {
	s := v.vals[slotAccessToken]
	if name == "Authorization" {
		var ok bool
		if s, ok = strings.CutPrefix(s, "Bearer "); !ok {
			return false
		}
	}
	return s != "" && s == token
}

// clone copies v, for a renewal of its assertion: requests in flight keep
// the values they were given.
func (v *identityValues) clone() *identityValues {
	return &identityValues{vals: slices.Clone(v.vals), renewAt: v.renewAt}
}

// accessTokenValue is the access token in the configured header's form:
// "Bearer <token>" for Authorization, the raw token otherwise.
func accessTokenValue(name, token string) string {
	if name == "Authorization" {
		return "Bearer " + token
	}
	return token
}

// setIdentity puts the identity headers of an allowed request into hdr.
func (n *headerNames) setIdentity(hdr http.Header, v *identityValues, bearer string) {
	set := func(name string, slot int) {
		if name != "" && v.vals[slot] != "" {
			hdr[name] = v.header(slot)
		}
	}
	set(n.user, slotUser)
	set(n.email, slotEmail)
	set(n.groups, slotGroups)
	set(n.username, slotUsername)
	for i, c := range n.claims {
		set(c.name, slotClaims+i)
	}
	if n.accessToken != "" {
		if bearer != "" && !v.carriesToken(n.accessToken, bearer) {
			hdr[n.accessToken] = []string{accessTokenValue(n.accessToken, bearer)}
		} else {
			set(n.accessToken, slotAccessToken)
		}
	}
	set(n.assertion, slotAssertion)
}

// setAuthResponse puts the forward-auth identity headers (docs/headers.md) into hdr.
func (n *headerNames) setAuthResponse(hdr http.Header, v *identityValues) {
	set := func(name string, slot int) {
		if v.vals[slot] != "" {
			hdr[name] = v.header(slot)
		}
	}
	set(authRequestUser, slotUser)
	set(authRequestEmail, slotEmail)
	set(authRequestGroups, slotGroups)
	set(authRequestUsername, slotUsername)
	if n.assertion != "" {
		set(n.assertion, slotAssertion)
	}
}

// Bounds of the identity-values cache (docs/security.md, "Memory bounds").
const (
	valueCacheSize  = 16384 // as many as the opened-session cache
	valueCacheBytes = 32 << 20
)

// valueCache keeps identityValues per (identity, assertion audience; the
// field is named host). Identities loaded
// from a session store or a bearer cache are shared and immutable, so their
// address identifies them; the cache holds them alive and counts them, with
// the audience and the values, against its bytes bound.
type valueCache struct {
	c *cache.Cache[valueKey, *identityValues]
}

type valueKey struct {
	id   *portcullis.Identity
	host string
}

func newValueCache(max int) *valueCache {
	return &valueCache{cache.New(cache.Options[valueKey, *identityValues]{
		MaxEntries: max, MaxBytes: valueCacheBytes, Size: valueSize})}
}

// get returns the values cached for k, or nil. It does not allocate.
func (c *valueCache) get(k valueKey) *identityValues {
	v, _ := c.c.Get(k)
	return v
}

// put stores v under k with the one copy of its host the entries share
// (unique.Make copies it: it may be a slice of the request, which the
// cache must not keep alive). With 10,000 identities cached, a copy each of
// the same audience was 10,000 strings.
func (c *valueCache) put(k valueKey, v *identityValues) {
	k.host = unique.Make(k.host).Value()
	c.c.Set(k, v)
}

// valueSize is the bytes an entry of the identity-values cache holds.
func valueSize(k valueKey, v *identityValues) int {
	return len(k.host) + cache.IdentitySize(k.id) + int(unsafe.Sizeof(*v)) + cache.StringsSize(v.vals)
}

// verifiedEmail is the identity's email when it is verified, else "": an
// unverified address never reaches the upstream as identity (docs/requests.md, rules: emails
// count only when verified), so an app keyed on the email header cannot be
// taken over by someone who typed another person's address at the provider.
func verifiedEmail(id *portcullis.Identity) string {
	if !id.EmailVerified {
		return ""
	}
	return id.Email
}
