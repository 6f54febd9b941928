package testenv

import "testing"

func TestLinesContaining(t *testing.T) {
	page := "# HELP a\ndirectory_errors 2\nother 1\nlast directory line"
	for sub, want := range map[string]string{
		"directory": "directory_errors 2\nlast directory line",
		"absent":    "",
		"other 1":   "other 1",
	} {
		if got := LinesContaining(page, sub); got != want {
			t.Errorf("LinesContaining(page, %q) = %q, want %q", sub, got, want)
		}
	}
}
