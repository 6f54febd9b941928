package demo

import (
	"crypto/rand"
	"crypto/subtle"
	"fmt"
)

// User is one demo account of the demo identity provider. Its password is
// generated at start, so that a demo left running is not open to anyone who
// read the source.
type User struct {
	Name          string // login name; also the `sub` and `preferred_username` claims
	Password      string
	Email         string
	EmailVerified bool
	Groups        []string
	DisplayName   string // the `name` claim
}

// passwordLength is how many base32 characters a demo password has (60 bits).
const passwordLength = 12

// newUsers returns the demo accounts with fresh random passwords: one
// administrator and one ordinary member with a different email domain, so that
// both group and email-domain rules can be shown.
func newUsers() []User {
	return []User{
		{
			Name: "alice", Email: "alice@example.com", EmailVerified: true,
			Groups: []string{"admins"}, DisplayName: "Alice Admin",
			Password: newPassword(),
		},
		{
			Name: "bob", Email: "bob@example.org", EmailVerified: true,
			Groups: []string{"staff"}, DisplayName: "Bob Staff",
			Password: newPassword(),
		},
	}
}

// newPassword returns a readable random password: upper-case base32 without
// padding, from crypto/rand.
func newPassword() string {
	return rand.Text()[:passwordLength]
}

// userDirectory looks demo users up; it never changes after start, so it needs
// no lock.
type userDirectory struct {
	users []User
}

// bySubject returns the user whose subject is sub.
func (d *userDirectory) bySubject(sub string) (User, error) {
	for _, u := range d.users {
		if u.Name == sub {
			return u, nil
		}
	}
	return User{}, fmt.Errorf("demo: unknown user %q", sub)
}

// authenticate returns the user when name and password match. The password is
// compared in constant time; an unknown name costs the same comparison.
func (d *userDirectory) authenticate(name, password string) (User, bool) {
	found := User{}
	ok := false
	for _, u := range d.users {
		if u.Name == name {
			found, ok = u, true
		}
	}
	want := found.Password
	if !ok {
		want = "\x00unknown-user\x00"
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(password)) != 1 || !ok {
		return User{}, false
	}
	return found, true
}

// names returns the users' login names, for the login page's hint.
func (d *userDirectory) names() []string {
	out := make([]string, len(d.users))
	for i, u := range d.users {
		out[i] = u.Name
	}
	return out
}
