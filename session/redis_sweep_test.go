package session

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// TestRevokeSubjectWithoutIndex: `portcullis sessions revoke --sub` and
// `list --sub` must reach every session of the user even when the index
// does not name it: an index set lost while its sessions live on (an
// evicting Redis, a Cluster node that failed over before it replicated the
// login's SADD, a key deleted by hand) or a session of the layout before
// the HMAC index with user_claim = "email". They read only the index and
// said "revoked 0 session(s)" while the session went on serving requests.
func TestRevokeSubjectWithoutIndex(t *testing.T) {
	clock := newTestClock()
	store, raw, _, _ := newTestRedisStore(t, clock)
	ctx := context.Background()
	clock.Advance(time.Second)
	lost := requestWith(saveCookies(t, store, nil, emailSession(t, clock.Now(), "ada@example.com", "00u1ada", "op-sid-a")))
	raw.Del(ctx, store.index.write(subIndexPrefix, indexSub, testIssuer, "00u1ada"))
	clock.Advance(time.Second)
	indexed := requestWith(saveCookies(t, store, nil, emailSession(t, clock.Now(), "ada@example.com", "00u1ada", "op-sid-b")))
	other := requestWith(saveCookies(t, store, nil, emailSession(t, clock.Now(), "bob@example.com", "00u2bob", "op-sid-c")))
	elsewhere := emailSession(t, clock.Now(), "eve@example.com", "00u1ada", "op-sid-d") // same sub, another issuer
	elsewhere.Identity.Issuer = "https://other-idp.example.com"
	elsewhereReq := requestWith(saveCookies(t, store, nil, elsewhere))

	if infos, err := store.List(ctx, testIssuer, "00u1ada"); err != nil || len(infos) != 2 {
		t.Errorf("List --sub = %d sessions, %v; want both of the user's", len(infos), err)
	}
	n, err := store.RevokeSubject(ctx, testIssuer, "00u1ada")
	if err != nil || n != 2 {
		t.Errorf("RevokeSubject = %d, %v; want 2", n, err)
	}
	for name, r := range map[string]*http.Request{"unindexed": lost, "indexed": indexed} {
		if _, err := store.Load(r); err == nil {
			t.Errorf("the user's %s session outlived revoke --sub", name)
		}
	}
	if _, err := store.Load(other); err != nil {
		t.Errorf("another user's session was ended: %v", err)
	}
	if _, err := store.Load(elsewhereReq); err != nil {
		t.Errorf("the same sub at another issuer was ended: %v", err)
	}
}
