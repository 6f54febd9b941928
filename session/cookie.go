package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Chunking. A sealed value longer than chunkLen is split over numbered
// cookies: the base name carries chunk 0 prefixed with "<count>:", and
// NAME_1 ... NAME_<count-1> carry the rest in order. A value that fits in
// one cookie has no prefix (securecookie output is base64url and never holds
// ':'). The MAC covers the whole sealed value, so a missing, reordered,
// truncated or altered chunk fails to open; the count in chunk 0 makes stale
// chunks left over from a bigger session harmless.
const (
	chunkLen  = 3800 // value bytes per cookie; browsers allow ~4096 for name and value
	maxChunks = 10
	// maxSealedSession bounds a sealed session so that its cookies, with
	// the login-state cookies (MaxLoginStateBytes) and room for the
	// applications' own, stay under the gateway's 16 KiB Cookie limit: a
	// session saved larger would make every later request of the browser a
	// 431, sign_out included, until its lifetime ends.
	maxSealedSession = 3 * chunkLen
)

// CookieStore keeps the whole session in sealed cookies (docs/sessions.md "cookie"
// store): nothing runs server-side, and every replica that shares the
// secrets can open them.
//
// Deleting a session clears the browser's cookies but cannot end a copy of
// the cookie taken elsewhere: such a copy stays valid until ExpiresAt (the
// absolute lifetime), although its access token dies at its own expiry when
// refresh tokens rotate. Use the Redis store where sign-out must end every copy.
type CookieStore struct {
	cfg     CookieConfig
	seal    *sealer
	cache   *openCache[*Session] // resident copies (Session.Elided)
	keep    residentRule         // what the cache keeps of a session
	metrics *storeMetrics
	opens   atomic.Int64 // decryptions attempted, for tests and benchmarks
}

var (
	_ Store  = (*CookieStore)(nil)
	_ Locker = (*CookieStore)(nil)
)

// NewCookieStore builds a cookie store. The cookie name must fit the
// prefix rules of RFC 6265bis §4.1.3: a "__Host-" name needs Secure and no
// Domain, a "__Secure-" name needs Secure.
func NewCookieStore(cfg CookieConfig, opts ...StoreOptions) (*CookieStore, error) {
	cfg, err := checkCookieConfig(cfg)
	if err != nil {
		return nil, err
	}
	o := firstOptions(opts)
	seal, err := newSealer(cfg.Secrets, boundPurpose(purposeSessionCookie, cfg.Binding), cfg.Lifetime)
	if err != nil {
		return nil, err
	}
	m, err := newStoreMetrics(o.Metrics)
	if err != nil {
		return nil, err
	}
	return &CookieStore{cfg: cfg, seal: seal, cache: newOpenCache[*Session](o.CacheSize), keep: newResidentRule(o), metrics: m}, nil
}

// HasCookiePrefix reports whether the cookie name starts with prefix
// ("__Host-", "__Secure-") in any case: browsers apply those prefixes'
// rules whatever their case, and drop a "__secure-x" cookie without Secure
// as they drop a "__Secure-x" one.
func HasCookiePrefix(name, prefix string) bool {
	return len(name) >= len(prefix) && strings.EqualFold(name[:len(prefix)], prefix)
}

// checkCookieConfig validates cfg and fills in defaults.
func checkCookieConfig(cfg CookieConfig) (CookieConfig, error) {
	if cfg.Name == "" || !validCookieName(cfg.Name) {
		return cfg, fmt.Errorf("session: invalid cookie name %q", cfg.Name)
	}
	// Browsers apply the prefixes' rules whatever their case.
	if HasCookiePrefix(cfg.Name, "__Host-") && (!cfg.Secure || cfg.Domain != "") {
		return cfg, fmt.Errorf("session: cookie name %q needs https and no cookie domain (got domain %q)", cfg.Name, cfg.Domain)
	}
	if HasCookiePrefix(cfg.Name, "__Secure-") && !cfg.Secure {
		return cfg, fmt.Errorf("session: cookie name %q needs https", cfg.Name)
	}
	if cfg.Lifetime <= 0 {
		return cfg, fmt.Errorf("session: lifetime must be positive, got %v", cfg.Lifetime)
	}
	if len(cfg.Secrets) == 0 {
		return cfg, errors.New("session: no secrets")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return cfg, nil
}

// validCookieName reports whether name is an RFC 6265 token.
func validCookieName(name string) bool {
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()<>@,;:\"/[]?={}`, c) >= 0 {
			return false
		}
	}
	return true
}

// Load opens the request's session cookie(s). A value seen before is served
// from the cache without decryption; expiry is checked on every call. It
// returns the resident copy the cache keeps (Session.Elided); Full reads
// the tokens from the cookie again.
func (c *CookieStore) Load(r *http.Request) (s *Session, err error) {
	start := time.Now()
	s, err = c.load(r)
	c.metrics.observe(opLoad, start, err)
	return s, err
}

func (c *CookieStore) load(r *http.Request) (*Session, error) {
	return c.firstOpening(r, c.cfg.Now(), nil, (*CookieStore).loadSealed)
}

// firstOpening tries each of the request's same-name session cookies (up
// to maxSameName, in order) with try, and returns the first session it
// gives, else the most telling error (worseNoSession). try is a method
// expression, and want (Full's resident copy) a plain argument, so that
// Load's hot path makes no closure.
func (c *CookieStore) firstOpening(r *http.Request, now time.Time, want *Session,
	try func(*CookieStore, string, time.Time, *Session) (*Session, error)) (*Session, error) {
	var err error = ErrNoSession
	for i := range maxSameName {
		sealed, present, ok := c.readSealedAt(r, i)
		if !present {
			break
		}
		if !ok {
			continue
		}
		s, terr := try(c, sealed, now, want)
		if terr == nil {
			return s, nil
		}
		err = worseNoSession(err, terr)
	}
	return nil, err
}

// loadSealed is load of one sealed value: the cache's copy, else the
// session it opens to, put in the cache.
func (c *CookieStore) loadSealed(sealed string, now time.Time, _ *Session) (*Session, error) {
	if s, ok := c.cache.get(sealed); ok {
		if now.Before(s.ExpiresAt) {
			return s, nil
		}
		c.cache.remove(sealed)
		return nil, ErrNoSession
	}
	s, err := c.open(sealed, now)
	if err != nil {
		return nil, err
	}
	res := s.resident(c.keep)
	c.cache.put(sealed, res)
	return res, nil
}

// open decrypts a sealed value into the session it carries, bypassing the
// cache: ErrForeignCookie when it does not open, ErrNoSession when it
// has expired at now.
func (c *CookieStore) open(sealed string, now time.Time) (*Session, error) {
	c.opens.Add(1)
	b, err := c.seal.open(c.cfg.Name, sealed)
	if err != nil {
		return nil, ErrForeignCookie
	}
	s, err := unmarshalSession(c.seal, b, c.cfg.Lifetime)
	if err != nil || !now.Before(s.ExpiresAt) {
		return nil, ErrNoSession
	}
	return s, nil
}

// Full returns s with its tokens, opening the request's cookie again
// without the cache; ErrNoSession when the cookie no longer carries s.
func (c *CookieStore) Full(r *http.Request, s *Session) (*Session, error) {
	if !s.Elided() {
		return s, nil
	}
	return c.firstOpening(r, c.cfg.Now(), s, (*CookieStore).openSame)
}

// openSame is open of one sealed value that must carry the session want.
func (c *CookieStore) openSame(sealed string, now time.Time, want *Session) (*Session, error) {
	full, err := c.open(sealed, now)
	if err != nil {
		return nil, err
	}
	if !sameSession(full, want) {
		return nil, ErrNoSession
	}
	return full, nil
}

// readSealed returns the sealed value of the first session cookie,
// reassembled from its chunks.
func (c *CookieStore) readSealed(r *http.Request) (string, bool) {
	sealed, _, ok := c.readSealedAt(r, 0)
	return sealed, ok
}

// readSealedAt returns the sealed value of the nth cookie of the session
// cookie's name (maxSameName), reassembled from its chunks: present
// reports that there is an nth, ok that it makes a value. Its chunks are
// the nth of their names too when there are that many (two sets of chunks
// of two scopes come in the same order as their first cookies), else the
// first. With a single chunk it returns a slice of the Cookie header
// without allocating.
func (c *CookieStore) readSealedAt(r *http.Request, nth int) (sealed string, present, ok bool) {
	v, present := nthCookie(r.Header, c.cfg.Name, nth)
	if !present || v == "" {
		return "", present, false
	}
	i := strings.IndexByte(v, ':')
	if i < 0 {
		return v, true, true
	}
	n, err := strconv.Atoi(v[:i])
	if err != nil || n < 2 || n > maxChunks {
		return "", true, false
	}
	// The count is the client's word: every chunk is found (which does not
	// allocate) before room is made, for exactly what they hold.
	var parts [maxChunks]string
	parts[0] = v[i+1:]
	size := len(parts[0])
	for k := 1; k < n; k++ {
		part, ok := nthCookie(r.Header, chunkName(c.cfg.Name, k), nth)
		if !ok {
			part, ok = findCookie(r.Header, chunkName(c.cfg.Name, k))
		}
		if !ok || part == "" {
			return "", true, false
		}
		parts[k] = part
		size += len(part)
	}
	var b strings.Builder
	b.Grow(size)
	for _, part := range parts[:n] {
		b.WriteString(part)
	}
	return b.String(), true, true
}

// Save seals s into fresh cookies (a new IV and timestamp every time, so a
// login never reuses a value) and clears chunks the new value does not need.
// An elided session is refused (and no cookie set).
func (c *CookieStore) Save(w http.ResponseWriter, r *http.Request, s *Session) (err error) {
	start := time.Now()
	defer func() { c.metrics.observe(opSave, start, err) }()
	remaining, err := saveLifetime(s, c.cfg.Now())
	if err != nil {
		return err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	if b, err = compress(b); err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	sealed, err := c.seal.seal(c.cfg.Name, b)
	if err != nil {
		return fmt.Errorf("session: save: %w", err)
	}
	parts := splitChunks(sealed)
	if len(parts) > maxChunks || len(sealed) > maxSealedSession {
		return fmt.Errorf("%w: %d bytes sealed, limit %d; use the redis store", ErrTooLarge, len(sealed), maxSealedSession)
	}
	maxAge := maxAgeSeconds(remaining)
	for k, part := range parts {
		name := c.cfg.Name
		if k > 0 {
			name = chunkName(c.cfg.Name, k)
		} else if len(parts) > 1 {
			part = strconv.Itoa(len(parts)) + ":" + part
		}
		http.SetCookie(w, newCookie(c.cfg, name, part, maxAge))
	}
	if r != nil {
		expireCookies(w, r, c.cfg, len(parts))
	}
	c.cache.put(sealed, s.resident(c.keep))
	return nil
}

// Delete clears the session cookie and every chunk the request carries. It
// cannot end copies of the cookie held elsewhere (see CookieStore).
func (c *CookieStore) Delete(w http.ResponseWriter, r *http.Request) error {
	start := time.Now()
	for i := range maxSameName {
		sealed, present, ok := c.readSealedAt(r, i)
		if !present {
			break
		}
		if ok {
			c.cache.remove(sealed)
		}
	}
	clearSessionCookies(w, r, c.cfg)
	c.metrics.observe(opDelete, start, nil)
	return nil
}

// clearSessionCookies expires the base cookie and every chunk in r.
func clearSessionCookies(w http.ResponseWriter, r *http.Request, cfg CookieConfig) {
	expireCookies(w, r, cfg, 0)
}

// expireCookies expires the session cookies r carries from index from on
// (0 is the base cookie, k the chunk NAME_k), each name once and only the
// chunks a store writes (below maxChunks): a Cookie header that repeats a
// name, or counts chunk names up, drew one expiry per cookie, four times
// the bytes it sent, at every login start and sign-out.
func expireCookies(w http.ResponseWriter, r *http.Request, cfg CookieConfig, from int) {
	var done [maxChunks]bool
	for _, ck := range r.Cookies() {
		k, ok := 0, ck.Name == cfg.Name
		if !ok {
			k, ok = chunkIndex(cfg.Name, ck.Name)
		}
		if ok && k >= from && k < maxChunks && !done[k] {
			done[k] = true
			http.SetCookie(w, newCookie(cfg, ck.Name, "", -1))
		}
	}
}

// Owns reports whether name is the session cookie, one of its chunks, or a
// login-state cookie.
func (c *CookieStore) Owns(name string) bool { return ownsCookie(c.cfg.Name, name) }

// Lock is a no-op that always acquires. The cookie store keeps nothing that
// replicas share, so there is nothing to lock: a session carried by its
// cookie is refreshed by the replica that gets the request (concurrent
// requests in one process are coordinated by the caller).
func (c *CookieStore) Lock(context.Context, string, time.Duration) (unlock func(), acquired bool, err error) {
	return func() {}, true, nil
}

// ownsCookie reports whether name is the session cookie base, one of its
// chunks or a login-state cookie, or one of those under base without its
// __Host- or __Secure- prefix: a cookie of the gateway's from before the
// operator chose the prefixed cookie_name (portcullis before
// __Secure-portcullis), or one planted over plain http, which the gateway
// never opens but must not hand the apps either (it held a session), nor
// let an app set (dropOwnSetCookies).
func ownsCookie(base, name string) bool {
	if ownsFamily(base, name) {
		return true
	}
	bare := unprefixed(base)
	return bare != "" && ownsFamily(bare, name)
}

// ownsFamily reports whether name is base, a chunk of it or a login state.
func ownsFamily(base, name string) bool {
	if name == base || strings.HasPrefix(name, base+loginInfix) {
		return true
	}
	_, ok := chunkIndex(base, name)
	return ok
}

// unprefixed is name without its __Host- or __Secure- prefix (any case),
// "" when it has none.
func unprefixed(name string) string {
	for _, p := range [...]string{"__Host-", "__Secure-"} {
		if HasCookiePrefix(name, p) && len(name) > len(p) {
			return name[len(p):]
		}
	}
	return ""
}

// unmarshalSession decodes what seal opened into a session that ends at
// the latest lifetime after its sign-in (endBy).
func unmarshalSession(seal *sealer, b []byte, lifetime time.Duration) (*Session, error) {
	plain, err := seal.decompress(b)
	if err != nil {
		return nil, err
	}
	s := new(Session)
	if err := json.Unmarshal(plain, s); err != nil {
		return nil, err
	}
	s.endBy(lifetime)
	return s, nil
}

func splitChunks(sealed string) []string {
	var parts []string
	for len(sealed) > chunkLen {
		parts = append(parts, sealed[:chunkLen])
		sealed = sealed[chunkLen:]
	}
	return append(parts, sealed)
}

func chunkName(base string, k int) string { return base + "_" + strconv.Itoa(k) }

// chunkIndex parses "BASE_<k>" with k >= 1.
func chunkIndex(base, name string) (int, bool) {
	if len(name) <= len(base)+1 || name[:len(base)] != base || name[len(base)] != '_' {
		return 0, false
	}
	digits := name[len(base)+1:]
	if digits[0] == '0' {
		return 0, false
	}
	k, err := strconv.Atoi(digits)
	if err != nil || k < 1 {
		return 0, false
	}
	return k, true
}

// maxAgeSeconds rounds d up to whole seconds.
func maxAgeSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

// newCookie builds a gateway cookie: HttpOnly, SameSite=Lax, Path=/, Secure
// on https, Domain when configured. maxAge < 0 deletes it.
func newCookie(cfg CookieConfig, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		Domain:   cfg.Domain,
		MaxAge:   maxAge,
		Secure:   cfg.Secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}
