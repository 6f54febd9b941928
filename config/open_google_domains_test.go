package config

import (
	"fmt"
	"strings"
	"testing"
)

// TestOpenSignInWarningSharedGoogleDomains: with Google's issuer and no
// hosted_domain, an email domain that anyone can have an address at is no
// restriction. Anyone can make a Gmail account, and any Google Cloud
// project's service account can mint an ID token with the client ID as its
// audience (a bearer token the gateway accepts), its address at
// appspot.gserviceaccount.com, developer.gserviceaccount.com or
// PROJECT.iam.gserviceaccount.com, all of which Google vouches for. A route
// whose allow_email_domains names such a shared domain drew no warning; one
// project's own domain is that project's.
func TestOpenSignInWarningSharedGoogleDomains(t *testing.T) {
	domains := []struct {
		list string
		open bool
	}{
		{`["gmail.com"]`, true},
		{`["GoogleMail.com"]`, true},
		{`["acme.com", "gmail.com"]`, true},
		{`["acme.com", "*"]`, true},
		{`["iam.gserviceaccount.com"]`, true},
		{`["gserviceaccount.com"]`, true},
		{`["appspot.gserviceaccount.com"]`, true},
		{`["developer.gserviceaccount.com"]`, true},
		{`["acme-prod.iam.gserviceaccount.com"]`, false},
		{`["acme.com"]`, false},
	}
	var routes strings.Builder
	var want []string
	for i, d := range domains {
		fmt.Fprintf(&routes, "[[routes]]\npath = \"/r%d/**\"\nallow_email_domains = %s\n\n", i, d.list)
		if d.open {
			want = append(want, fmt.Sprintf("routes[%d]: warning: any Google account can sign in and reach this route", i))
		}
	}
	for _, lines := range []string{`issuer = "https://accounts.google.com"` + "\nclient_id = \"c\"\n" + googleOfflineParams, "kind = \"google\"\nclient_id = \"c\""} {
		doc := strings.Replace(provider(lines), "[[routes]]\npath = \"/**\"\n", routes.String(), 1)
		cfg := mustParse(t, t.TempDir(), doc, nil)
		if len(cfg.Warnings) != len(want) {
			t.Fatalf("%s: warnings %q, want %q", lines, cfg.Warnings, want)
		}
		for i, w := range want {
			if !strings.Contains(cfg.Warnings[i], w) {
				t.Errorf("warning %q, want %q", cfg.Warnings[i], w)
			}
		}
	}
	workspace := provider("kind = \"google\"\nclient_id = \"c\"\nhosted_domain = \"acme.com\"")
	doc := strings.Replace(workspace, "[[routes]]\npath = \"/**\"\n", routes.String(), 1)
	if cfg := mustParse(t, t.TempDir(), doc, nil); len(cfg.Warnings) != 0 {
		t.Errorf("hosted_domain (no Gmail account or service account carries its hd): warnings %q", cfg.Warnings)
	}
}

// TestOpenExtraIssuerWarningAnyDomain: allow_email_domains passes an
// address at any one of its domains, so "*" next to another domain lets
// every token of an extra issuer that states a verified address through;
// it counted as a restriction, with no warning.
func TestOpenExtraIssuerWarningAnyDomain(t *testing.T) {
	doc := provider("issuer = \"https://login.acme.com\"\nclient_id = \"c\"\n\n[[provider.extra_issuers]]\n" +
		"issuer = \"https://ci.example.com\"\naudiences = [\"portcullis\"]")
	doc = strings.Replace(doc, "[[routes]]\npath = \"/**\"\n", "[[routes]]\npath = \"/**\"\nallow_email_domains = [\"acme.com\", \"*\"]\n", 1)
	cfg := mustParse(t, t.TempDir(), doc, nil)
	if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "routes[0]: warning: any token that provider.extra_issuers[0]") {
		t.Fatalf("warnings %q", cfg.Warnings)
	}
}

// TestOpenExtraIssuerWarningSharedGoogleDomains: Google as an extra issuer
// (its service accounts' ID tokens for the gateway's audience) signs for
// any Google account and any Google Cloud project's service account, so an
// allow_email_domains of a domain anyone can have a verified address at
// there (gmail.com, the shared service-account domains) is no restriction,
// as it is not for a Google provider (TestOpenSignInWarningSharedGoogleDomains).
// It counted as one, with no warning. Found by review JA.
func TestOpenExtraIssuerWarningSharedGoogleDomains(t *testing.T) {
	for _, c := range []struct {
		list string
		open bool
	}{{`["gmail.com"]`, true}, {`["acme.com", "iam.gserviceaccount.com"]`, true},
		{`["acme-prod.iam.gserviceaccount.com"]`, false}, {`["acme.com"]`, false}} {
		doc := provider("issuer = \"https://login.acme.com\"\nclient_id = \"c\"\n\n[[provider.extra_issuers]]\n" +
			"issuer = \"https://accounts.google.com\"\naudiences = [\"portcullis\"]")
		doc = strings.Replace(doc, "[[routes]]\npath = \"/**\"\n", "[[routes]]\npath = \"/**\"\nallow_email_domains = "+c.list+"\n", 1)
		cfg := mustParse(t, t.TempDir(), doc, nil)
		warned := len(cfg.Warnings) == 1 && strings.Contains(cfg.Warnings[0], "routes[0]: warning: any token that provider.extra_issuers[0]")
		if warned != c.open || len(cfg.Warnings) > 1 {
			t.Errorf("allow_email_domains = %s: warnings %q, want a warning: %v", c.list, cfg.Warnings, c.open)
		}
	}
}

// TestOpenSignInWarningAdviceIsValid: the warning's advice, followed as
// written, gives a configuration that loads without the warning. With
// Google's issuer and kind "" (an "oidc" provider), provider.hosted_domain
// alone is refused (only used with kind = "google"), so the advice names
// kind = "google" too; with kind = "google" hosted_domain alone is enough.
func TestOpenSignInWarningAdviceIsValid(t *testing.T) {
	for _, c := range []struct{ lines, advice, fixed string }{
		{`issuer = "https://accounts.google.com"` + "\nclient_id = \"c\"\n" + googleOfflineParams,
			`set provider.kind = "google" and provider.hosted_domain, or restrict`,
			`issuer = "https://accounts.google.com"` + "\nclient_id = \"c\"\nkind = \"google\"\nhosted_domain = \"acme.com\""},
		{"kind = \"google\"\nclient_id = \"c\"",
			`set provider.hosted_domain, or restrict`,
			"kind = \"google\"\nclient_id = \"c\"\nhosted_domain = \"acme.com\""},
	} {
		cfg := mustParse(t, t.TempDir(), provider(c.lines), nil)
		if len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0], "any Google account can sign in and reach this route: "+c.advice) {
			t.Errorf("%s: warnings %q, want one advising %q", c.lines, cfg.Warnings, c.advice)
		}
		if cfg := mustParse(t, t.TempDir(), provider(c.fixed), nil); len(cfg.Warnings) != 0 {
			t.Errorf("%s: warnings %q after following the advice", c.fixed, cfg.Warnings)
		}
	}
}

// googleOfflineParams asks Google for offline access under kind "oidc",
// so that a test of another warning gets no warnNoRefreshToken.
const googleOfflineParams = `auth_params = { access_type = "offline", prompt = "consent" }`
