package idp

import (
	"testing"
)

// TestVerifyBearerEntraRulesBindEveryEntraHost: Entra's rules followed the
// issuers of two shapes only, TENANT/v2.0 on a login host and TENANT/ on
// sts.windows.net, so a tenant's issuer of another shape on Entra's own
// hosts escaped them: the US Government cloud's v1.0 issuer
// (login.microsoftonline.us/TENANT/) and the China cloud's
// (sts.chinacloudapi.cn/TENANT/), trusted as an extra issuer, had their ID
// tokens and their app-only tokens that grant nothing taken for access
// tokens. Every issuer on a host of Entra's is now Entra's.
func TestVerifyBearerEntraRulesBindEveryEntraHost(t *testing.T) {
	for _, iss := range []string{"https://login.microsoftonline.us/tid-b/",
		"https://sts.chinacloudapi.cn/tid-b/", "https://login.microsoftonline.com/tid-b/",
		"https://login.partner.microsoftonline.cn/tid-b/"} {
		t.Run(iss, func(t *testing.T) { testEntraRulesBindExtraTenant(t, iss) })
	}
}

// TestEntraProviderByHost: a provider configured by such an issuer with
// kind = "oidc" is Entra's too, its tenant the issuer's first segment; any
// issuer on Entra's hosts is Entra's (fail closed), a host that only ends
// like Entra's is not.
func TestEntraProviderByHost(t *testing.T) {
	for _, tc := range []struct {
		iss, tenant string
		entra       bool
	}{
		{"https://login.microsoftonline.us/tid-1/", "tid-1", true},
		{"https://sts.chinacloudapi.cn/tid-1/", "tid-1", true},
		{"https://login.microsoftonline.com/tid-1/v2.0", "tid-1", true},
		{"https://sts.windows.net/tid-1/", "tid-1", true},
		{"https://LOGIN.microsoftonline.com:443/tid-1/v2.0", "tid-1", true},
		{"https://login.microsoftonline.com/", "", true},
		{"https://login.microsoftonline.us./tid-1/", "tid-1", true},
		{"https://login.microsoftonline.com.evil.example/tid-1", "", false},
		{"https://sts.windows.net.evil.example/tid-1/", "", false},
		{"https://idp.example/tid-1/v2.0", "tid-1", false},
	} {
		if got := entraProvider(Config{Kind: "oidc", Issuer: tc.iss}); got != tc.entra {
			t.Errorf("entraProvider(%q) = %v, want %v", tc.iss, got, tc.entra)
		}
		if got := entraTenant(tc.iss); got != tc.tenant {
			t.Errorf("entraTenant(%q) = %q, want %q", tc.iss, got, tc.tenant)
		}
	}
}
