package session

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portcullis/portcullis/internal/cache"
)

// Login-state cookie parameters (docs/sessions.md).
const (
	// LoginStateTTL is how long a login attempt may take.
	LoginStateTTL = 10 * time.Minute
	// maxLogins is how many login attempts (tabs) may be pending at once;
	// Issue prunes the oldest beyond it.
	maxLogins = 5
	// MaxLoginStateBytes bounds the login-state cookies a browser holds in
	// all (name=value as a Cookie header carries them): with the session
	// cookie (under 8 KB) they stay well under the proxy's 16 KiB Cookie
	// limit, so no run of login starts can make a browser's requests too
	// large. Issue prunes the oldest beyond it.
	MaxLoginStateBytes = 6 << 10
	// maxReturnURL bounds the return URL kept in a login state: a longer one
	// is cut to its path (query and fragment dropped), and when that is
	// still longer, to "/".
	maxReturnURL = 1024
	// maxConsumed and maxConsumedBytes bound the memory of states already
	// accepted (fixed-size digests).
	maxConsumed      = 100000
	maxConsumedBytes = 16 << 20
	// loginInfix sits between the session cookie name and the short state id.
	loginInfix = "_login_"
	// maxStateLen bounds a state value that is looked up.
	maxStateLen = 512
	// maxClearedStates bounds the login-state cookies ClearAll expires in
	// one answer: more than the gateway's 64 KiB of request headers can
	// carry of the sealed states it issues (each over 200 bytes), and few
	// enough that a header of empty cookies with login-state names does not
	// make the answer larger than the request (an expiry is ~70 bytes).
	maxClearedStates = 256
	// minSealedState is shorter than any value Issue seals (over 200
	// bytes) and longer than the expiry of a cookie (its name and ~65
	// bytes): prune leaves a shorter login-state cookie alone, so that the
	// expiries it draws are never larger than the header that carried them.
	minSealedState = 128
)

// ErrLoginState means the callback's state matches no usable login attempt:
// no cookie, a tampered or expired one, another state, or one already used.
var ErrLoginState = errors.New("session: login state missing, invalid, expired or already used")

// StateCookies keeps LoginStates in sealed, short-lived (10 min), HttpOnly,
// SameSite=Lax cookies, one per login attempt, accepted once.
//
// A cookie is named NAME_login_<id>, where id is derived from the state, so
// parallel logins in several tabs each find their own; a "__Host-" NAME keeps
// its prefix, and the cookies are always Path=/ and host-only. They are
// sealed with keys derived for this purpose only, so a session cookie never
// opens as a login state or the other way round.
//
// Single use: Take clears the cookie and remembers every state it accepted
// for 10 minutes, so a replayed cookie is refused by this process. Across
// replicas, the proxy also claims each state in a shared ReplayGuard (the
// Redis store); without one, single use rests on the browser dropping the
// cleared cookie and on the provider accepting each authorization code once
// (RFC 6749 §4.1.2).
type StateCookies struct {
	cfg  CookieConfig
	seal *sealer

	consumed *cache.Cache[[sha256.Size]byte, struct{}] // digests of accepted states
}

// NewStateCookies builds the login-state cookie jar from the session cookie settings.
func NewStateCookies(cfg CookieConfig) (*StateCookies, error) {
	cfg.Domain = "" // host-only: only the gateway's own callback reads it
	if cfg.Lifetime <= 0 {
		cfg.Lifetime = LoginStateTTL // unused here; keeps validation uniform
	}
	cfg, err := checkCookieConfig(cfg)
	if err != nil {
		return nil, err
	}
	seal, err := newSealer(cfg.Secrets, boundPurpose(purposeLoginState, cfg.Binding), LoginStateTTL)
	if err != nil {
		return nil, err
	}
	consumed := cache.New(cache.Options[[sha256.Size]byte, struct{}]{
		MaxEntries: maxConsumed, MaxBytes: maxConsumedBytes, Now: cfg.Now})
	return &StateCookies{cfg: cfg, seal: seal, consumed: consumed}, nil
}

// WithCookie builds the jar of new cookie settings (a reload) that still
// refuses every state c accepted. A state cookie sealed with a secret the
// new settings still list opens in the new jar too: with a memory of its
// own, a replay of a callback already used was taken again by this
// process. The memory holds digests of states, which only ever refuse.
func (c *StateCookies) WithCookie(cfg CookieConfig) (*StateCookies, error) {
	n, err := NewStateCookies(cfg)
	if err != nil {
		return nil, err
	}
	n.consumed = c.consumed
	return n, nil
}

// cookieName returns NAME_login_<first 96 bits of SHA-256(state), base64url>.
func (c *StateCookies) cookieName(state string) string {
	sum := sha256.Sum256([]byte(state))
	return c.cfg.Name + loginInfix + base64.RawURLEncoding.EncodeToString(sum[:12])
}

// Issue seals ls into a cookie of its own, pruning the oldest when there are
// many. A zero IssuedAt is set to now.
func (c *StateCookies) Issue(w http.ResponseWriter, r *http.Request, ls *LoginState) error {
	if ls.State == "" || len(ls.State) > maxStateLen {
		return fmt.Errorf("session: login state needs a state of 1 to %d bytes, got %d", maxStateLen, len(ls.State))
	}
	v := *ls
	if v.IssuedAt.IsZero() {
		v.IssuedAt = c.cfg.Now()
	}
	v.ReturnURL = boundReturnURL(v.ReturnURL)
	b, err := json.Marshal(&v)
	if err != nil {
		return fmt.Errorf("session: login state: %w", err)
	}
	name := c.cookieName(v.State)
	sealed, err := c.seal.seal(name, b)
	if err != nil {
		return fmt.Errorf("session: login state: %w", err)
	}
	if r != nil {
		c.prune(w, r, name, cookieBytes(name, sealed))
	}
	http.SetCookie(w, newCookie(c.cfg, name, sealed, int(LoginStateTTL/time.Second)))
	return nil
}

// boundReturnURL cuts a return URL longer than maxReturnURL to its path
// (scheme and host kept for an absolute one), or to "/" when that is still
// too long: a page that starts logins with long URLs must not fill the
// browser's cookie jar (docs/requests.md, request hygiene).
func boundReturnURL(u string) string {
	if len(u) <= maxReturnURL {
		return u
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	if len(u) > maxReturnURL || u == "" {
		return "/"
	}
	return u
}

// cookieBytes is what a cookie adds to a Cookie header ("; name=value").
func cookieBytes(name, value string) int { return len(name) + len(value) + 3 }

// prune clears unreadable login-state cookies and then, oldest first, those
// that would leave more than maxLogins login states or more than
// MaxLoginStateBytes in all with the one being issued (size bytes). Each
// name is looked at once, and a value too short to be sealed by Issue is
// neither opened nor expired: any anonymous navigation starts a login, and
// a Cookie header of empty login-state cookies drew one expiry per cookie,
// nearly four times the bytes it sent (as ClearAll's bound, for the 431).
func (c *StateCookies) prune(w http.ResponseWriter, r *http.Request, issuing string, size int) {
	type pending struct {
		name   string
		issued time.Time
		size   int
	}
	var live []pending
	total := size
	seen := map[string]bool{issuing: true}
	for _, ck := range r.Cookies() {
		if !c.Owns(ck.Name) || seen[ck.Name] || len(ck.Value) < minSealedState {
			continue
		}
		seen[ck.Name] = true
		ls, err := c.open(ck.Name, ck.Value)
		if err != nil {
			http.SetCookie(w, newCookie(c.cfg, ck.Name, "", -1))
			continue
		}
		n := cookieBytes(ck.Name, ck.Value)
		live = append(live, pending{ck.Name, ls.IssuedAt, n})
		total += n
	}
	slices.SortFunc(live, func(a, b pending) int { return a.issued.Compare(b.issued) })
	for len(live) > 0 && (len(live) >= maxLogins || total > MaxLoginStateBytes) {
		http.SetCookie(w, newCookie(c.cfg, live[0].name, "", -1))
		total -= live[0].size
		live = live[1:]
	}
}

// ClearAll expires every login-state cookie r carries, up to
// maxClearedStates. The proxy calls it when it answers 431 (request headers
// too large), so that the browser's next request fits again even if
// login-state cookies filled its jar.
func (c *StateCookies) ClearAll(w http.ResponseWriter, r *http.Request) {
	seen := map[string]bool{}
	for _, line := range r.Header["Cookie"] {
		for part := range strings.SplitSeq(line, ";") {
			name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
			if c.Owns(name) && !seen[name] {
				if len(seen) == maxClearedStates {
					return
				}
				seen[name] = true
				http.SetCookie(w, newCookie(c.cfg, name, "", -1))
			}
		}
	}
}

// open opens a login-state cookie and checks its age.
func (c *StateCookies) open(name, value string) (*LoginState, error) {
	b, err := c.seal.open(name, value)
	if err != nil {
		return nil, err
	}
	ls := new(LoginState)
	if err := json.Unmarshal(b, ls); err != nil {
		return nil, err
	}
	now := c.cfg.Now()
	if now.Sub(ls.IssuedAt) > LoginStateTTL || ls.IssuedAt.After(now.Add(time.Minute)) {
		return nil, errors.New("session: login state expired")
	}
	return ls, nil
}

// Take finds the login state for state, clears its cookie and returns it. A
// state already taken, expired, tampered with or unknown is ErrLoginState.
func (c *StateCookies) Take(w http.ResponseWriter, r *http.Request, state string) (*LoginState, error) {
	if state == "" || len(state) > maxStateLen {
		return nil, ErrLoginState
	}
	name := c.cookieName(state)
	value, ok := findCookie(r.Header, name)
	if !ok {
		return nil, ErrLoginState
	}
	http.SetCookie(w, newCookie(c.cfg, name, "", -1))
	ls, err := c.open(name, value)
	if err != nil {
		return nil, ErrLoginState
	}
	if subtle.ConstantTimeCompare([]byte(ls.State), []byte(state)) != 1 {
		return nil, ErrLoginState
	}
	if !c.consume(state, ls.IssuedAt.Add(LoginStateTTL)) {
		return nil, ErrLoginState
	}
	return ls, nil
}

// consume marks state as accepted until forgetAt; it reports false when the
// state was accepted before.
func (c *StateCookies) consume(state string, forgetAt time.Time) bool {
	// When full of live entries the cache forgets one of them: its cookie
	// was cleared and its code redeemed, so a replay still fails at the
	// provider.
	return c.consumed.Add(sha256.Sum256([]byte(state)), struct{}{}, forgetAt)
}

// Owns reports whether a cookie of this name is a login-state cookie.
func (c *StateCookies) Owns(cookieName string) bool {
	if strings.HasPrefix(cookieName, c.cfg.Name+loginInfix) {
		return true
	}
	// Without the name's prefix: one issued before the operator chose the
	// prefixed name, or planted over plain http (ownsCookie). Pruned as
	// unreadable.
	bare := unprefixed(c.cfg.Name)
	return bare != "" && strings.HasPrefix(cookieName, bare+loginInfix)
}
