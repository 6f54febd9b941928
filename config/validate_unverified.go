package config

// warnEntraEmailRules warns about every allow_emails and
// allow_email_domains when the provider is Entra ID (kind "entra", or its
// v2.0 issuer under another kind) and assume_email_verified is off: Entra
// ID sends no email_verified, so such a rule refuses every user who signs
// in with it, each with "email not verified", while check said OK (the
// oauth2-proxy migration's email_domains gives one).
func (d *decoder) warnEntraEmailRules(p *providerSection, kind string, routes []routeSection) {
	if p.AssumeEmailVerified || (kind != "entra" && !entraV2Issuer(p.Issuer)) {
		return
	}
	for _, r := range routes {
		for _, key := range []struct {
			name string
			set  bool
		}{{"allow_emails", len(r.AllowEmails) > 0}, {"allow_email_domains", len(r.AllowEmailDomains) > 0}} {
			if key.set {
				d.warn(r.path+"."+key.name, "Entra ID sends no email_verified, so this rule refuses every user who signs in with it "+
					"(\"email not verified\"); route on groups or app roles (allow_groups), or set provider.assume_email_verified = true "+
					"if the tenant's email addresses are trustworthy (docs/providers/entra.md, Email)")
			}
		}
	}
}
