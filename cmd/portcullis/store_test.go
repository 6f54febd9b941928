package main

import (
	"slices"
	"testing"

	"github.com/portcullis/portcullis/config"
)

// TestResidentClaimsKeepWhatARefusalReads: a refusal by allow_emails or
// allow_email_domains says whether the provider sent email_verified (or
// Entra ID's xms_edov) at all, so the opened-session cache keeps both:
// without them every cached session would read as one whose provider
// sent neither.
func TestResidentClaimsKeepWhatARefusalReads(t *testing.T) {
	got := residentClaims(&config.Config{})
	for _, want := range []string{"email_verified", "xms_edov"} {
		if !slices.Contains(got, want) {
			t.Errorf("residentClaims = %q, want %q among them", got, want)
		}
	}
}
