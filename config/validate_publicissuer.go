package config

import (
	"net/url"
	"strings"
)

// msaTenant is the directory ID of personal Microsoft accounts: the tenant
// Entra ID's "consumers" alias resolves to, the same in every directory.
const msaTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"

// publicIssuer names who an OpenID Connect issuer signs in when anyone
// can open an account there, or "" for an issuer of one organisation. A
// route that names nobody then lets the whole world in (warnOpenSignIn).
// GitLab.com signs in every user it has, whichever group's settings made
// the application; the tenant of personal Microsoft accounts every
// outlook.com or hotmail.com address, and any address anyone registers.
// checkEntraIssuer refuses that tenant's alias "consumers", not its ID,
// which discovery of the alias names as the issuer.
func publicIssuer(iss string) string {
	u, err := url.Parse(iss)
	if err != nil || u.User != nil {
		return ""
	}
	host, path := strings.ToLower(u.Hostname()), strings.ToLower(strings.TrimSuffix(u.Path, "/"))
	switch {
	case host == "gitlab.com" && path == "":
		return "any GitLab.com user"
	case host == "login.microsoftonline.com" && path == "/"+msaTenant+"/v2.0":
		return "any personal Microsoft account"
	}
	return ""
}
