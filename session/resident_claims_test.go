package session

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/portcullis/portcullis/internal/testenv"
)

// TestResidentKeepsWhatAnUnverifiedRefusalReads: a refusal of an unverified
// address says whether the provider sent email_verified (or Entra ID's
// xms_edov) at all, so the resident copy of a session whose address is not
// verified keeps them, whatever claims the routes read; that of a verified
// one does not, since no refusal reads them there: kept for every session
// they cost about 330 bytes of heap each.
func TestResidentKeepsWhatAnUnverifiedRefusalReads(t *testing.T) {
	rule := newResidentRule(StoreOptions{KeepClaims: []string{"tier"}})
	claims := map[string]any{"email_verified": false, "xms_edov": false, "tier": "gold", "name": "Ann"}
	s := decoded(t, nil, nil)
	s.Identity.Claims = claims
	r := s.resident(rule)
	for _, k := range []string{"email_verified", "xms_edov", "tier"} {
		if _, ok := r.Identity.Claims[k]; !ok {
			t.Errorf("an unverified session's resident copy lacks %s: %v", k, r.Identity.Claims)
		}
	}
	if _, ok := r.Identity.Claims["name"]; ok {
		t.Errorf("a claim no rule reads was kept: %v", r.Identity.Claims)
	}
	s.Identity.EmailVerified = true
	s.Identity.Claims = map[string]any{"email_verified": true, "name": "Ann"}
	if r := s.resident(rule); r.Identity.Claims != nil {
		t.Errorf("a verified session's resident copy keeps %v, want no claims", r.Identity.Claims)
	}

	const n = 10_000
	opened := make([]*Session, n)
	for i := range opened {
		opened[i] = decoded(t, []string{"staff", "team-" + strconv.Itoa(i%50)}, []string{"openid"})
		opened[i].Identity.EmailVerified = true
		opened[i].Identity.Claims = map[string]any{"email_verified": true, "email": "a@example.com"}
	}
	resident := make([]*Session, n)
	before := testenv.HeapAfterGC()
	for i, s := range opened {
		resident[i] = s.resident(rule)
	}
	per := (testenv.HeapAfterGC() - before) / n
	runtime.KeepAlive(opened)
	runtime.KeepAlive(resident)
	if per > 470 {
		t.Errorf("a verified session's resident copy holds %d bytes, want at most 470 (no claims map)", per)
	}
}
