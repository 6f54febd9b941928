package idp

import (
	"fmt"
	"slices"

	"github.com/portcullis/portcullis"
)

// checkBearerAcr holds the provider's bearer tokens (JWT or introspected)
// to auth_params acr_values as checkRequestedAuthentication holds its ID
// tokens: the acr must be one requested, exactly. Without it, a user
// holding only a password and an access token from another client of the
// API reached the routes a browser session needed the second factor for.
// max_age is not applied: a session, too, is held to it at its sign-in
// only, and an access token renewed by a refresh keeps its old auth_time.
// An extra issuer's tokens were never asked for acr_values.
func (c *Client) checkBearerAcr(id *portcullis.Identity) error {
	want, ok := c.cfg.AuthParams["acr_values"]
	if !ok || !c.isOIDC() || id.Issuer != c.cfg.Issuer {
		return nil
	}
	acr, _ := id.Claims["acr"].(string)
	if !slices.Contains(splitScopes(want), acr) {
		return fmt.Errorf("%w: acr %q is none of the acr_values %q the sign-in requires", ErrInvalidToken, truncateForLog(acr, 64), want)
	}
	return nil
}
