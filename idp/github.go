package idp

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// githubAccept is the media type GitHub's REST API documents for requests.
const githubAccept = "application/vnd.github+json"

// githubClaims builds claims from GitHub's GET /user: sub and id are the
// numeric id (logins can be renamed and reused; ids cannot),
// preferred_username the login, and the email the one githubEmail picks.
func (c *Client) githubClaims(ctx context.Context, accessToken string) (map[string]any, error) {
	claims, err := c.userinfo(ctx, c.cfg.UserinfoURL, accessToken, githubAccept)
	if err != nil {
		return nil, err
	}
	id, ok := claims["id"].(float64)
	if !ok || id <= 0 {
		return nil, fmt.Errorf("idp: GitHub /user has no numeric id")
	}
	if _, ok := claims["sub"]; !ok {
		claims["sub"] = subjectString(id)
	}
	if login, ok := claims["login"].(string); ok {
		claims["preferred_username"] = login
	}
	public, _ := claims["email"].(string)
	delete(claims, "email")
	email, err := c.githubEmail(ctx, accessToken, public)
	if err != nil {
		return nil, err
	}
	if email != "" {
		claims["email"] = email
		claims["email_verified"] = true
	}
	return claims, nil
}

// githubEmail returns the address of GET /user/emails (scope user:email)
// that is the public one of /user and verified, else the one that is primary
// and verified, else "". The public address alone is never trusted: /user
// shows it whether or not it is verified (an address that bounces becomes
// unverified; an Enterprise Managed User's is unverified until proven), and
// /user/emails is where GitHub says which are.
func (c *Client) githubEmail(ctx context.Context, accessToken, public string) (string, error) {
	u := strings.TrimSuffix(c.cfg.UserinfoURL, "/") + "/emails"
	body, err := c.getJSON(c.providerCtx(ctx, "userinfo"), u, accessToken, githubAccept)
	if err != nil {
		return "", fmt.Errorf("idp: GitHub /user/emails (scope user:email needed): %w", err)
	}
	var list []struct {
		Email    string `json:"email"`
		Primary  bool   `json:"primary"`
		Verified bool   `json:"verified"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return "", fmt.Errorf("idp: GitHub /user/emails: %v", err)
	}
	primary := ""
	for _, e := range list {
		switch {
		case !e.Verified || e.Email == "":
		case public != "" && strings.EqualFold(e.Email, public):
			return e.Email, nil
		case e.Primary && primary == "":
			primary = e.Email
		}
	}
	return primary, nil
}

// splitGitHubScopes splits the scope of GitHub's token response, which
// GitHub lists comma-separated ("read:user,user:email"; its scope names
// contain neither commas nor spaces), so that require_scopes can name them.
func splitGitHubScopes(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
