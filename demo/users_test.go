package demo

import (
	"regexp"
	"slices"
	"testing"
)

func TestNewUsers(t *testing.T) {
	a, b := newUsers(), newUsers()
	readable := regexp.MustCompile(`^[A-Z2-7]{12}$`)
	for i, u := range a {
		if !readable.MatchString(u.Password) {
			t.Errorf("%s password %q is not 12 base32 characters", u.Name, u.Password)
		}
		if u.Password == b[i].Password {
			t.Errorf("%s got the same password twice", u.Name)
		}
		if !u.EmailVerified || u.Email == "" || len(u.Groups) == 0 {
			t.Errorf("user %+v lacks a verified email or a group", u)
		}
	}
	if !slices.Contains(a[0].Groups, "admins") || slices.Contains(a[1].Groups, "admins") {
		t.Error("want exactly the first user in admins")
	}
}

func TestAuthenticate(t *testing.T) {
	d := &userDirectory{users: newUsers()}
	alice, bob := d.users[0], d.users[1]
	tests := []struct {
		name, user, password string
		ok                   bool
	}{
		{"alice", alice.Name, alice.Password, true},
		{"bob", bob.Name, bob.Password, true},
		{"swapped", alice.Name, bob.Password, false},
		{"unknown", "carol", alice.Password, false},
		{"empty", "", "", false},
		{"prefix", alice.Name, alice.Password[:11], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, ok := d.authenticate(tt.user, tt.password)
			if ok != tt.ok || (ok && u.Name != tt.user) {
				t.Errorf("authenticate(%q) = %q, %v; want ok=%v", tt.user, u.Name, ok, tt.ok)
			}
		})
	}
}
