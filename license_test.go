package portcullis

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strings"
	"testing"
)

// apache20SHA256 is the SHA-256 of the Apache License 2.0 as published at
// https://www.apache.org/licenses/LICENSE-2.0.txt, with the appendix's
// "Copyright [yyyy] [name of copyright owner]" placeholder.
const apache20SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"

const copyrightLine = "Copyright 2026 The Portcullis Authors"

// TestLicense checks that the repository carries the unmodified Apache
// License 2.0 (only the appendix's example notice filled in) and the NOTICE
// file its section 4(d) refers to.
func TestLicense(t *testing.T) {
	data, err := os.ReadFile("LICENSE")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	if !strings.HasPrefix(strings.TrimSpace(text), "Apache License\n") {
		t.Fatalf("LICENSE does not start with \"Apache License\": %.60q", text)
	}
	if strings.Count(text, copyrightLine) != 1 {
		t.Errorf("LICENSE appendix does not carry %q once", copyrightLine)
	}
	canonical := strings.Replace(text, copyrightLine, "Copyright [yyyy] [name of copyright owner]", 1)
	sum := sha256.Sum256([]byte(canonical))
	if got := hex.EncodeToString(sum[:]); got != apache20SHA256 {
		t.Errorf("LICENSE differs from the Apache License 2.0 text: sha256 %s, want %s", got, apache20SHA256)
	}
	notice, err := os.ReadFile("NOTICE")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(notice), "Portcullis\n"+copyrightLine+"\n") {
		t.Errorf("NOTICE does not start with the product name and %q:\n%s", copyrightLine, notice)
	}
}
