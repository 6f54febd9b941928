package directory

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestA200ThatIsNoPageIsAnError: a directory, or a proxy or API gateway in
// front of it, that answers 200 with an error object (or with an object that
// holds no list) has not said which groups the user is in. Graph and
// Google's two APIs decoded such a body into an empty page, so the user
// signed in (or kept the session at groups_refresh) with no groups at all:
// an identity without its groups, which the gateway promises never to make
// (an application may deny on a group, "contractors", that went missing).
// GitHub's lists are arrays, and an object already fails to decode.
func TestA200ThatIsNoPageIsAnError(t *testing.T) {
	const errorBody = `{"error":{"code":"Request_ResourceNotFound","message":"upstream unavailable"}}`
	serve := func(t *testing.T, body string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Path == "/token" {
				_, _ = w.Write([]byte(`{"access_token":"sa-token","token_type":"Bearer","expires_in":3600}`))
				return
			}
			_, _ = w.Write([]byte(body))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	sources := map[string]func(t *testing.T, url string) Source{
		"graph": func(t *testing.T, url string) Source {
			g, err := NewGraph(url, nil)
			if err != nil {
				t.Fatal(err)
			}
			return g
		},
		"github": func(t *testing.T, url string) Source {
			g, err := NewGitHub(url, nil)
			if err != nil {
				t.Fatal(err)
			}
			return g
		},
		"google admin sdk": func(t *testing.T, url string) Source {
			g, err := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, url+"/token"), AdminEmail: "admin@acme.com", BaseURL: url})
			if err != nil {
				t.Fatal(err)
			}
			return g
		},
		"google cloud identity": func(t *testing.T, url string) Source {
			g, err := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, url+"/token"), BaseURL: url})
			if err != nil {
				t.Fatal(err)
			}
			return g
		},
	}
	user := User{Email: "ann@acme.com", AccessToken: "user-at"}
	for name, newSource := range sources {
		for _, body := range []string{errorBody, `{"message":"Server Error"}`, `null`} {
			t.Run(name+" "+body, func(t *testing.T) {
				got, err := newSource(t, serve(t, body)).Groups(context.Background(), user)
				if err == nil {
					t.Errorf("200 %s: groups %q and no error; want the read refused", body, got)
				}
			})
		}
	}
	// What each API really answers for a user in no group is no group.
	for name, body := range map[string]string{
		"graph":                 `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#groups(id)","value":[]}`,
		"github":                `[]`,
		"google admin sdk":      `{"kind":"admin#directory#groups","etag":"\"x\""}`,
		"google cloud identity": `{}`,
	} {
		t.Run(name+" empty", func(t *testing.T) {
			got, err := sources[name](t, serve(t, body)).Groups(context.Background(), user)
			if err != nil || len(got) != 0 {
				t.Errorf("%s: groups %q, err %v; want none and no error", body, got, err)
			}
		})
	}
}
