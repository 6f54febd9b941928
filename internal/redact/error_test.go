package redact

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// TestErrorKeepsTheChain: the text loses the secret, the chain keeps the
// original error; with nothing to take out the error is returned as is.
func TestErrorKeepsTheChain(t *testing.T) {
	err := fmt.Errorf("refused %s: %w", "Zq3vN8sLw0PbT1xY", context.DeadlineExceeded)
	got := Error(err, err.Error(), "Zq3vN8sLw0PbT1xY")
	if got.Error() != "refused [redacted]: context deadline exceeded" || !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("Error = %q (Is deadline: %v)", got, errors.Is(got, context.DeadlineExceeded))
	}
	if got := Error(err, err.Error(), "absent-secret"); got != err {
		t.Errorf("nothing to take out: got %v, want err itself", got)
	}
	if got := Error(err, err.Error()[:24], "Zq3vN8sLw0PbT1xY"); got.Error() != "refused [redacted]" {
		t.Errorf("a cut text: got %q, want the cut shown, redacted", got)
	}
	if Error(nil, "", "x") != nil {
		t.Error("Error(nil) is not nil")
	}
	// A text that only shows err otherwise (cut, made printable) is what
	// the error says: a span's status is made of its text.
	if got := Error(err, "refused …"); got.Error() != "refused …" || !errors.Is(got, context.DeadlineExceeded) {
		t.Errorf("a cut text, nothing taken out: got %q", got)
	}
}
