package session

import "net/http"

// StateCookies keeps LoginStates in sealed, short-lived (10 min), HttpOnly,
// SameSite=Lax cookies, one per login attempt, accepted once.
type StateCookies struct {
	cfg CookieConfig
}

// NewStateCookies builds the login-state cookie jar from the session cookie settings.
func NewStateCookies(cfg CookieConfig) (*StateCookies, error) { panic("not implemented") }

// Issue seals ls into a cookie of its own, pruning the oldest when there are many.
func (c *StateCookies) Issue(w http.ResponseWriter, r *http.Request, ls *LoginState) error {
	panic("not implemented")
}

// Take finds the login state for state, clears its cookie and returns it. A
// state already taken, expired, tampered with or unknown is an error.
func (c *StateCookies) Take(w http.ResponseWriter, r *http.Request, state string) (*LoginState, error) {
	panic("not implemented")
}

// Owns reports whether a cookie of this name is a login-state cookie.
func (c *StateCookies) Owns(cookieName string) bool { panic("not implemented") }
