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
// preferred_username the login, and the email the public one of /user (GitHub
// shows only verified addresses there) or else the primary verified entry of
// GET /user/emails (scope user:email).
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
	if email, _ := claims["email"].(string); email != "" {
		claims["email_verified"] = true
		return claims, nil
	}
	delete(claims, "email")
	email, err := c.githubPrimaryEmail(ctx, accessToken)
	if err != nil {
		return nil, err
	}
	if email != "" {
		claims["email"] = email
		claims["email_verified"] = true
	}
	return claims, nil
}

// githubPrimaryEmail returns the address of GET /user/emails that is both
// primary and verified, or "" when there is none.
func (c *Client) githubPrimaryEmail(ctx context.Context, accessToken string) (string, error) {
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
	for _, e := range list {
		if e.Primary && e.Verified {
			return e.Email, nil
		}
	}
	return "", nil
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
