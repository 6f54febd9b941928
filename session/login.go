package session

import "time"

// Login names the sign-in a session comes from, which its refreshes keep:
// the Redis store's id ("" in the cookie store), when it was made, and
// the provider's issuer and sub. A request's session read a second time
// (under the refresh lock, or by the watch of an upgraded connection or a
// stream) is checked against it: the stores read the first cookie of the
// session's name that opens (maxSameName), so once the session a request
// or connection was served with has ended, the same cookies open the next
// one, another sign-in's and maybe another user's, which is not the
// session that ended and must not stand in for it.
type Login struct {
	id       string
	created  time.Time
	iss, sub string
}

// LoginOf is the sign-in s comes from.
func LoginOf(s *Session) Login {
	return Login{id: s.ID, created: s.CreatedAt, iss: s.Identity.Issuer, sub: s.Identity.ProviderSubject}
}

// Of reports whether s comes from the sign-in l: the session l was taken
// of, as stored now (refreshed, its groups read again), in either copy
// (resident or full). A session saved before sessions held the provider's
// sub gets it at its next refresh, which is no other sign-in, and the
// cookie store's sessions have no id: an empty one matches.
func (l Login) Of(s *Session) bool {
	return s.CreatedAt.Equal(l.created) && s.Identity.Issuer == l.iss &&
		alike(s.ID, l.id) && alike(s.Identity.ProviderSubject, l.sub)
}

// alike reports whether a and b are equal or one of them is unknown ("").
func alike(a, b string) bool { return a == b || a == "" || b == "" }
