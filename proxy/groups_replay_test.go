package proxy

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/portcullis/portcullis/idp"
	"github.com/portcullis/portcullis/idp/directory"
)

// TestReplayedCookieDoesNotAmplifyDirectoryReads: with the cookie store,
// the session a request carries is whatever cookie the client sends. A
// client that keeps sending the cookie it had before groups_refresh
// elapsed (it ignores Set-Cookie: a script, curl, or an attacker) makes the
// gateway read the directory on every request: GroupsReadAt/GroupsTriedAt
// are only recorded in the new cookie. docs/security.md promises a failed
// read "is retried after 30 s"; for Google every read is up to 50 Admin SDK
// calls on the service account's shared quota, so one session can exhaust
// the quota and make every user's reads fail (which keeps everyone's stale
// groups and fails every login).
func TestReplayedCookieDoesNotAmplifyDirectoryReads(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"directory down", errors.New("idp: google directory: status 503")},
		{"directory up", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, dp := directoryFixture(t)
			s := f.session()
			s.GroupsReadAt = f.clock.Now()
			old := f.cookies(t, s)
			dp.set([]string{"admins", "staff"}, tc.err)
			f.clock.Advance(11 * time.Minute)
			for range 20 {
				f.do(t, "GET", "/app/", nil, withCookies(old))
			}
			if n := dp.count(); n > 1 {
				t.Errorf("20 requests with the same pre-refresh cookie within %s read the directory %d times; want 1 (retry after %s)",
					groupsRetry, n, groupsRetry)
			}
		})
	}
}

// TestGitHubSSOAtRefreshEndsTheSession: at login a GitHub answer
// with X-GitHub-SSO fails the sign-in ("never drops such an organisation
// silently"). At groups_refresh the same answer is treated as an outage: the
// session keeps the groups last read, including a team the user has been
// removed from, for the whole session lifetime (GitHub tokens never
// expire, so nothing else ends it). The condition is within the user's
// reach: joining (or creating) any organisation that enforces SAML SSO
// without authorising the token for it makes every later read fail this way.
func TestGitHubSSOAtRefreshEndsTheSession(t *testing.T) {
	f, dp := directoryFixture(t)
	s := f.session()                           // groups: admins, staff
	s.Expiry, s.RefreshToken = time.Time{}, "" // a GitHub OAuth app token: no expiry, no refresh
	s.GroupsReadAt = f.clock.Now()
	cookies := f.cookies(t, s)
	// Removed from admins at GitHub; the read now fails with SSO.
	dp.set(nil, &idp.DirectoryError{Source: "github", Hint: "A GitHub organisation you belong to enforces SAML single sign-on",
		Err: &directory.SSORequiredError{Organizations: []string{"evil-sso-org"}}})
	for i := range 24 { // 11 h of requests, every 30 min
		f.clock.Advance(30 * time.Minute)
		resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies))
		if c := liveCookies(resp); len(c) > 0 {
			cookies = c
		}
		if resp.StatusCode == http.StatusOK && i >= 1 {
			t.Fatalf("%s after the last successful read, groups_refresh 10m: the SSO refusal kept the removed group (status 200)",
				time.Duration(i+1)*30*time.Minute)
		}
	}
}

// TestDirectoryFailureKeepsGroupsForAnHourAtMost: GitHub's
// rate limit is the user's own (5000/h shared by every token of the user),
// so a user removed from a team can exhaust it with a personal access token
// and GitHub answers the gateway's /user/orgs with 403 "API rate limit
// exceeded". The gateway treats that as an outage and keeps the removed
// team until session.lifetime (12 h by default), while docs promise removal
// "within groups_refresh". There is no bound on how stale kept groups may get.
func TestDirectoryFailureKeepsGroupsForAnHourAtMost(t *testing.T) {
	f, dp := directoryFixture(t)
	s := f.session()
	s.Expiry, s.RefreshToken = time.Time{}, "" // a GitHub OAuth app token: no expiry, no refresh
	s.GroupsReadAt = f.clock.Now()
	cookies := f.cookies(t, s)
	dp.set(nil, &idp.DirectoryError{Source: "github", Err: &directory.StatusError{Source: "github",
		URL: "https://api.github.com/user/orgs", Status: http.StatusForbidden, Detail: "API rate limit exceeded for user ID 1."}})
	f.clock.Advance(6 * time.Hour)
	resp := f.do(t, "GET", "/admin/x", nil, withCookies(cookies))
	if resp.StatusCode == http.StatusOK {
		t.Errorf("groups last read 6 h ago (groups_refresh 10m), the user's own token refused with 403: still allowed")
	}
}
