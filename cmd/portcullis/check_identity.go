package main

import (
	"fmt"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/idp"
)

// identityRefusal says why serve would refuse the hypothetical identity of
// check --request before any route decides, or "": a user, email or group
// that idp.IdentityValue refuses (a value an application would read as
// another, such as the Kelvin sign or the sharp s, or one a header cannot
// carry) fails the sign-in (502) and makes a bearer token invalid (401),
// so calling it allowed was a verdict serve never gives.
func identityRefusal(id *portcullis.Identity) string {
	if id == nil {
		return ""
	}
	for _, f := range []struct {
		name string
		v    any
	}{{"sub", id.Subject}, {"email", id.Email}, {"groups", id.Groups}} {
		if _, err := idp.IdentityValue(f.v); err != nil {
			return fmt.Sprintf("--identity %s: %v", f.name, err)
		}
	}
	return ""
}
