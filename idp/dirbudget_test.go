package idp

import (
	"strconv"
	"testing"
	"time"
)

// TestReadBudgetIsEachUsersOwn: a user past the budget waits until the
// window ends; other users read on, and a table full of users whose
// windows are live budgets no newcomer rather than refusing one.
func TestReadBudgetIsEachUsersOwn(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	b := newReadBudget(func() time.Time { return now })
	for i := range userReadsPerWindow {
		if _, ok := b.take("ann"); !ok {
			t.Fatalf("ann's read %d refused", i)
		}
	}
	until, ok := b.take("ann")
	if ok || !until.Equal(now.Add(UserReadWindow)) {
		t.Fatalf("ann's read past the budget: ok=%v until=%v", ok, until)
	}
	if _, ok := b.take("bob"); !ok {
		t.Fatal("bob refused for ann's reads")
	}
	for range 2 * userReadsPerWindow {
		if _, ok := b.take(""); !ok {
			t.Fatal("users without a subject share one budget")
		}
	}
	now = now.Add(UserReadWindow)
	if _, ok := b.take("ann"); !ok {
		t.Fatal("ann refused after her window ended")
	}
	for i := range maxBudgetUsers {
		b.take("u" + strconv.Itoa(i))
	}
	if len(b.users) > maxBudgetUsers {
		t.Fatalf("%d users remembered", len(b.users))
	}
	for range 2 * userReadsPerWindow {
		if _, ok := b.take("newcomer"); !ok {
			t.Fatal("a newcomer refused while the table is full")
		}
	}
}
