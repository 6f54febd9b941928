package idp

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestRefreshDropsClaimsTheProviderNoLongerStates: a refreshed ID token is
// the provider's statement now. Entra ID, Keycloak's group mapper and
// GitLab leave out a groups or roles claim that would be empty, so a user
// removed from their last group or app role gets a refreshed ID token
// without the claim. Filling it in from the sign-in's claims kept the group
// until session.lifetime (12 h by default), whatever the directory said.
func TestRefreshDropsClaimsTheProviderNoLongerStates(t *testing.T) {
	tests := []struct {
		name string
		o    oidctest.Options
		mod  func(*Config)
		// before and after are the user's claims at sign-in and at the refresh.
		before, after map[string]any
	}{
		{name: "oidc, no userinfo", o: oidctest.Options{NoUserinfo: true},
			before: map[string]any{"groups": []any{"admins"}, "email": "a@example.com", "email_verified": true},
			after:  map[string]any{"email": "a@example.com", "email_verified": true}},
		{name: "oidc with userinfo", o: oidctest.Options{},
			before: map[string]any{"groups": []any{"admins"}, "email": "a@example.com", "email_verified": true},
			after:  map[string]any{"email": "a@example.com", "email_verified": true}},
		{name: "entra app role and group", mod: func(cfg *Config) { cfg.Kind = "entra"; cfg.Directory = &stubDirectory{} },
			before: map[string]any{"groups": []any{"admins"}, "roles": []any{"Dashboards.Admin"}},
			after:  map[string]any{}},
		{name: "keycloak realm roles", mod: func(cfg *Config) { cfg.GroupsClaim = "realm_access.roles" },
			before: map[string]any{"realm_access": map[string]any{"roles": []any{"admins"}}},
			after:  map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.User = &oidctest.User{Subject: "alice", Claims: tt.before}
			p, c, _ := setup(t, tt.o, tt.mod)
			toks, id, err := login(t, c)
			if err != nil {
				t.Fatal(err)
			}
			if len(id.Groups) == 0 {
				t.Fatalf("sign-in: no groups: %+v", id)
			}
			p.SetUser(oidctest.User{Subject: "alice", Claims: tt.after})
			_, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
			if err != nil {
				t.Fatal(err)
			}
			if len(id2.Groups) != 0 {
				t.Errorf("refreshed identity keeps the groups %q the provider no longer states", id2.Groups)
			}
		})
	}
}

// TestRefreshReadsUserinfoAgain: claims that only userinfo states (GitLab's
// inherited groups) are read again at a refresh, as at the sign-in, rather
// than kept from it; a userinfo answer for another subject ends the
// session.
func TestRefreshReadsUserinfoAgain(t *testing.T) {
	p, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "alice",
		Claims:         map[string]any{"email": "a@example.com", "email_verified": true},
		UserinfoClaims: map[string]any{"groups": []any{"acme/platform", "acme/platform/sre"}}}}, nil)
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	// Unchanged: the groups stay.
	toks2, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(id2.Groups, []string{"acme/platform", "acme/platform/sre"}) || id2.Email != "a@example.com" || !id2.EmailVerified {
		t.Fatalf("refresh with the same userinfo: %+v", id2)
	}
	// Removed from acme/platform/sre: the next refresh says so.
	p.SetUser(oidctest.User{Subject: "alice",
		Claims:         map[string]any{"email": "a@example.com", "email_verified": true},
		UserinfoClaims: map[string]any{"groups": []any{"acme/platform"}}})
	toks3, id3, err := c.Refresh(context.Background(), toks2.RefreshToken, id2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(id3.Groups, []string{"acme/platform"}) {
		t.Errorf("refresh after removal from a group: groups %q", id3.Groups)
	}
	p.SetFaults(oidctest.FaultUserinfoOtherSub)
	if _, _, err := c.Refresh(context.Background(), toks3.RefreshToken, id3); !errors.Is(err, ErrInvalidGrant) {
		t.Errorf("refresh with userinfo for another sub: err = %v, want ErrInvalidGrant", err)
	}
}

// TestRefreshKeepsSignInClaims: a refreshed ID token that leaves out sid
// or acr continues the same sign-in: back-channel logout names its sid, and
// require_claims may name its acr.
func TestRefreshKeepsSignInClaims(t *testing.T) {
	p, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "alice",
		Claims: map[string]any{"sid": "sid-alice", "acr": "mfa", "groups": []any{"admins"}}}}, nil)
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	p.SetUser(oidctest.User{Subject: "alice", Claims: map[string]any{"groups": []any{"admins"}}})
	_, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
	if err != nil {
		t.Fatal(err)
	}
	if id2.SessionID != "sid-alice" || id2.Claims["acr"] != "mfa" {
		t.Errorf("refreshed SessionID = %q, acr %v; want sid-alice, mfa", id2.SessionID, id2.Claims["acr"])
	}
}

// userinfoFailsWhile makes the client's requests to userinfo fail while
// failing is set, as an unreachable userinfo endpoint does.
func userinfoFailsWhile(failing *atomic.Bool) func(*Config) {
	return func(cfg *Config) {
		cfg.HTTPClient = &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if failing.Load() && strings.Contains(r.URL.Path, "userinfo") {
				return nil, errors.New("userinfo unreachable")
			}
			return http.DefaultTransport.RoundTrip(r)
		})}
	}
}

// TestRefreshSurvivesUserinfoOutage: userinfo failing at a refresh does not
// fail the refresh, whose new tokens the provider has already issued (and
// whose refresh token it may have rotated): the sign-in's claims fill what
// the new ID token lacks until the next refresh reads userinfo again.
func TestRefreshSurvivesUserinfoOutage(t *testing.T) {
	var failing atomic.Bool
	p, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "alice",
		Claims:         map[string]any{"email": "a@example.com", "email_verified": true},
		UserinfoClaims: map[string]any{"groups": []any{"acme/platform"}}}}, userinfoFailsWhile(&failing))
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	failing.Store(true)
	toks2, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
	if err != nil {
		t.Fatalf("refresh with userinfo down: %v", err)
	}
	if toks2.RefreshToken == "" || !slices.Equal(id2.Groups, []string{"acme/platform"}) || id2.Email != "a@example.com" {
		t.Fatalf("refresh with userinfo down: tokens %v, identity %+v", toks2.RefreshToken != "", id2)
	}
	failing.Store(false)
	p.SetUser(oidctest.User{Subject: "alice",
		Claims: map[string]any{"email": "a@example.com", "email_verified": true}})
	if _, id3, err := c.Refresh(context.Background(), toks2.RefreshToken, id2); err != nil || len(id3.Groups) != 0 {
		t.Errorf("refresh once userinfo is back: groups %q, err %v; want none", id3.Groups, err)
	}
}

// TestRefreshUserinfoOutageKeepsNoIDTokenClaim: with userinfo down at a
// refresh, the sign-in's claims filled every claim the refreshed ID token
// left out, so a groups claim only the ID token carried, left out now
// because the user left their last group, came back from the sign-in (and
// kept coming back for as long as userinfo failed). Only what userinfo
// stated is filled in now; the ID token speaks for the rest.
func TestRefreshUserinfoOutageKeepsNoIDTokenClaim(t *testing.T) {
	var failing atomic.Bool
	u := oidctest.User{Subject: "alice", Claims: map[string]any{"email": "a@example.com", "email_verified": true},
		IDTokenClaims: map[string]any{"groups": []any{"admins"}}}
	p, c, _ := setup(t, oidctest.Options{User: &u}, userinfoFailsWhile(&failing))
	toks, id, err := login(t, c)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(id.Groups, []string{"admins"}) {
		t.Fatalf("sign-in groups %q", id.Groups)
	}
	u.IDTokenClaims = nil
	p.SetUser(u)
	failing.Store(true)
	_, id2, err := c.Refresh(context.Background(), toks.RefreshToken, id)
	if err != nil {
		t.Fatalf("refresh with userinfo down: %v", err)
	}
	if len(id2.Groups) != 0 || id2.Email != "a@example.com" {
		t.Errorf("refresh with userinfo down: groups %q (want none: the new ID token states none), email %q", id2.Groups, id2.Email)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
