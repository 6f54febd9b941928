package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// uploadPage is an application's upload form: a file input and a text
// field, sent as multipart/form-data.
const uploadPage = `<!doctype html><title>upload</title>
<form id="up" method="post" enctype="multipart/form-data" action="receive">
<input name="note" value="q3 figures"><input type="file" name="file" id="file">
<button id="send">Send</button></form><p id="ready">ready</p>`

// uploadApp serves uploadPage under .../form and answers a POST with what
// it parsed of the upload: its Content-Type, the note and the file's name
// and text.
func uploadApp(t *testing.T) *httptest.Server {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if r.Method == http.MethodGet {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			io.WriteString(w, uploadPage)
			return
		}
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			http.Error(w, "app: "+err.Error(), http.StatusBadRequest)
			return
		}
		f, h, err := r.FormFile("file")
		if err != nil {
			http.Error(w, "app: "+err.Error(), http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(f)
		fmt.Fprintf(w, "got note=%q file=%q text=%q", r.FormValue("note"), h.Filename, b)
	}))
	t.Cleanup(up.Close)
	return up
}

// TestChromiumUploadReachesApp: Chromium (as Safari and every WebKit or
// Blink browser) names its multipart boundary "----WebKitFormBoundary"
// and 16 characters, and the gateway counted the word "boundary" anywhere
// in the Content-Type: a file upload from a form, or from fetch with a
// FormData, was a 400 "a multipart Content-Type without a single, plain
// boundary" on every route, public ones included, before the application
// saw it. Both reach the application, signed in and on a public route.
func TestChromiumUploadReachesApp(t *testing.T) {
	t.Parallel()
	gw := startPublicAndSignedIn(t, uploadApp(t).URL)
	ctx, cancel := context.WithTimeout(newChromium(t), 90*time.Second)
	defer cancel()
	const want = `got note="q3 figures" file="report.csv" text="region,total\n north,12\n"`
	const file = `new File(["region,total\n north,12\n"], "report.csv", {type: "text/csv"})`
	for _, base := range []string{"/public/", "/app/"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(gw.URL+base+"form"), chromedp.WaitVisible("#ready")); err != nil {
			t.Fatalf("%sform: %v", base, err)
		}
		fetch := `(() => { const fd = new FormData(document.getElementById("up")); fd.set("file", ` + file + `);
			return fetch("receive", {method: "POST", body: fd}).then(async r => r.status + " " + await r.text()) })()`
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](fetch, chromedp.EvalAwaitPromise))
		if err != nil || got != "200 "+want {
			t.Errorf("fetch with a FormData on %s: %q (%v), want 200 %s", base, got, err, want)
		}
		pick := `(() => { const dt = new DataTransfer(); dt.items.add(` + file + `);
			document.getElementById("file").files = dt.files; return true })()`
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[bool](pick)); err != nil {
			t.Fatalf("choosing the file on %s: %v", base, err)
		}
		s := click(t, ctx, "#send")
		if s.Status != http.StatusOK || strings.TrimSpace(s.Text) != want {
			t.Errorf("the form's upload on %s: %d %q, want 200 %s", base, s.Status, s.Text, want)
		}
	}
}
