package config

import "slices"

// mutableUserClaims are claims that name a user by something the user, an
// administrator or another tenant's administrator can change or give to
// someone else: usernames and logins (Keycloak lets users edit theirs,
// GitHub renames free a login), Entra ID's UPN and preferred_username,
// display names.
var mutableUserClaims = []string{"preferred_username", "username", "login", "nickname", "name",
	"given_name", "family_name", "upn", "unique_name"}

// warnMutableUserClaim warns when user_claim, the X-Forwarded-User that
// applications store their users by, names a claim that can change hands:
// a renamed account becomes the one that held its old name there (Grafana
// CVE-2022-31107), and Entra ID's email, taken as verified by
// assume_email_verified, is an attribute its administrators, and a guest's
// home tenant, may set to any address (CVE-2023-3128, "nOAuth"). The
// gateway's own sessions are keyed by iss and sub whatever user_claim says.
func (d *decoder) warnMutableUserClaim(p *providerSection, kind string) {
	const instead = `; keep user_claim = "sub" (or "oid" for Entra ID) and let applications key users by it, or by the signed assertion's sub_id`
	switch {
	case slices.Contains(mutableUserClaims, p.UserClaim):
		d.warn("provider.user_claim", "%q can change hands: a user renamed, or given a name another user had, becomes that user to the applications, which store users by X-Forwarded-User%s",
			p.UserClaim, instead)
	case p.AssumeEmailVerified && (kind == "entra" || entraIssuer(p.Issuer)) && (p.UserClaim == "email" || p.UserClaim == p.EmailClaim):
		d.warn("provider.user_claim", "Entra ID's email is an attribute the tenant's administrators (and a guest's home tenant) may set to any address, and assume_email_verified takes it as verified: a user given another's address becomes that user to the applications%s",
			instead)
	}
}
