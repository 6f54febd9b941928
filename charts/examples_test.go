package charts

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

// TestGoogleExamplesDoNotRuleOnGroups: Google's ID tokens carry no groups
// claim, so an example that signs in with Google and grants by allow_groups
// would lock everybody out of that route (or teach readers a rule that never
// matches). Such an example must name a group source for Google (a google_*
// provider key) or grant by email.
func TestGoogleExamplesDoNotRuleOnGroups(t *testing.T) {
	files, err := filepath.Glob("portcullis/examples/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	files = append(files, "portcullis/values.yaml")
	google := regexp.MustCompile(`(?m)^[^#\n]*issuer[ :=]+"?https://accounts\.google\.com`)
	groups := regexp.MustCompile(`(?m)^[^#\n]*allow_groups[ :=]`)
	groupSource := regexp.MustCompile(`(?m)^[^#\n]*google_[a-z_]+[ :=]`)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if google.Match(data) && groups.Match(data) && !groupSource.Match(data) {
			t.Errorf("%s: signs in with Google but grants by allow_groups, and Google sends no groups claim", f)
		}
	}
}
