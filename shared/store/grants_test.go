package store

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// issueFor creates family id of clientID for user u, with first token hash(id+"-rt").
func issueFor(t *testing.T, e *env, id, clientID string, u User) Family {
	t.Helper()
	exp := e.clock.now().Add(30 * 24 * time.Hour)
	rt := RefreshToken{Scope: "openid " + id, Resource: testRequest.Resource, User: u, ExpiresAt: exp}
	mustOK(t, "IssueFamily "+id, e.store.IssueFamily(e.ctx, Family{ID: id, ClientID: clientID, ExpiresAt: exp}, hash(id+"-rt"), rt))
	now := e.clock.now()
	return Family{ID: id, ClientID: clientID, ExpiresAt: exp, UserID: u.ID, OrgID: u.OrganizationID,
		SessionID: u.SessionID, Scope: rt.Scope, Resource: rt.Resource, CreatedAt: now, LastUsedAt: now}
}

func familyIDs(fs []Family) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.ID)
	}
	return out
}

// The operator finds a person's, a client's and an organization's grants, and nothing else:
// not another person's, not refresh tokens or codes (which carry user_id too), not a family
// written before the owner was stored.
func TestFamiliesFoundByUserClientAndOrg(t *testing.T) {
	e := newEnv(t)
	ada, bob := testUser, User{ID: "user_02", OrganizationID: "org_01"}
	solo := User{ID: "user_03"} // no organization
	f1 := issueFor(t, e, "fam-1", "client-1", ada)
	e.clock.advance(time.Second)
	f2 := issueFor(t, e, "fam-2", "client-2", ada)
	f3 := issueFor(t, e, "fam-3", "client-1", bob)
	issueFor(t, e, "fam-4", "client-2", solo)
	mustOK(t, "PutCode", e.store.PutCode(e.ctx, hash("code"), Code{Request: testRequest, User: ada, FamilyID: "fam-9", ExpiresAt: e.clock.now().Add(time.Minute)}))
	// A family as IssueFamily wrote it before the owner was stored.
	legacy := keyOf(familyKey("fam-legacy"))
	legacy["client_id"] = &types.AttributeValueMemberS{Value: "client-1"}
	legacy["revoked"] = &types.AttributeValueMemberBOOL{Value: false}
	legacy[attrExpiresAt] = epoch(e.clock.now().Add(time.Hour))
	if _, err := e.plain.PutItem(e.ctx, &dynamodb.PutItemInput{TableName: aws.String(e.table), Item: legacy}); err != nil {
		t.Fatal(err)
	}
	e.calls.take()

	got, err := e.store.Families(e.ctx, GrantFilter{UserID: ada.ID})
	mustOK(t, "Families by user", err)
	if !reflect.DeepEqual(got, []Family{f1, f2}) {
		t.Fatalf("by user:\n got %+v\nwant %+v", got, []Family{f1, f2})
	}
	e.expectCalls("Families by user", map[string]int{"Query": 1, "GetItem": 2})
	for name, c := range map[string]struct {
		filter GrantFilter
		want   []string
	}{
		"client":  {GrantFilter{ClientID: "client-1"}, []string{"fam-1", "fam-3"}},
		"org":     {GrantFilter{OrgID: "org_01"}, []string{"fam-1", "fam-2", "fam-3"}},
		"nobody":  {GrantFilter{UserID: "user_99"}, []string{}},
		"no such": {GrantFilter{ClientID: "client-9"}, []string{}},
	} {
		got, err := e.store.Families(e.ctx, c.filter)
		mustOK(t, "Families by "+name, err)
		if ids := familyIDs(got); !reflect.DeepEqual(ids, c.want) {
			t.Errorf("by %s: %v, want %v", name, ids, c.want)
		}
	}
	e.calls.take()
	got, _ = e.store.Families(e.ctx, GrantFilter{OrgID: "org_01"})
	e.expectCalls("Families by org", map[string]int{"Scan": 1, "GetItem": 3})
	if !reflect.DeepEqual(got[2], f3) {
		t.Errorf("by org: %+v, want %+v", got[2], f3)
	}

	for name, bad := range map[string]GrantFilter{
		"none": {}, "two": {UserID: "user_01", OrgID: "org_01"}, "three": {UserID: "u", ClientID: "c", OrgID: "o"},
	} {
		_, err := e.store.Families(e.ctx, bad)
		mustErr(t, "Families with "+name, err, ErrInvalid)
	}
	e.expectCalls("refused filters", map[string]int{})
}

// A rotation records when the grant was last used (the operator's list shows it).
func TestRotationRecordsLastUse(t *testing.T) {
	e := newEnv(t)
	issueFor(t, e, "fam-1", "client-1", testUser)
	e.clock.advance(10 * time.Minute)
	rt, err := e.store.GetRefreshToken(e.ctx, hash("fam-1-rt"))
	mustOK(t, "GetRefreshToken", err)
	e.calls.take()
	mustOK(t, "RotateRefreshToken", e.store.RotateRefreshToken(e.ctx, hash("fam-1-rt"), hash("fam-1-rt2"), next(e, rt)))
	e.expectCalls("RotateRefreshToken", map[string]int{"TransactWriteItems": 1})
	fams, err := e.store.Families(e.ctx, GrantFilter{UserID: testUser.ID})
	mustOK(t, "Families", err)
	if len(fams) != 1 || !fams[0].LastUsedAt.Equal(e.clock.now()) || !fams[0].CreatedAt.Equal(e.clock.now().Add(-10*time.Minute)) {
		t.Fatalf("families %+v: want last used now, created 10 minutes ago", fams)
	}
}

// RevokeFamilies revokes exactly the matching families with RevokeFamily: their refresh
// tokens can no longer rotate and introspection's question (GrantRevoked) says revoked;
// another person's grant is untouched; a second run revokes nothing more.
func TestRevokeFamiliesEndsTheMatchingGrantsOnly(t *testing.T) {
	e := newEnv(t)
	issueFor(t, e, "fam-1", "client-1", testUser)
	issueFor(t, e, "fam-2", "client-2", testUser)
	issueFor(t, e, "fam-3", "client-1", User{ID: "user_02"})
	mustOK(t, "RevokeFamily fam-2", e.store.RevokeFamily(e.ctx, "fam-2")) // already revoked: counted as matched only
	e.calls.take()

	matched, revoked, err := e.store.RevokeFamilies(e.ctx, GrantFilter{UserID: testUser.ID})
	mustOK(t, "RevokeFamilies", err)
	if matched != 2 || revoked != 1 {
		t.Fatalf("matched %d, revoked %d; want 2, 1", matched, revoked)
	}
	e.expectCalls("RevokeFamilies", map[string]int{"Query": 1, "GetItem": 2, "UpdateItem": 1})
	for id, want := range map[string]bool{"fam-1": true, "fam-2": true, "fam-3": false} {
		if got, err := e.store.GrantRevoked(e.ctx, id); err != nil || got != want {
			t.Errorf("GrantRevoked(%s) = %v, %v; want %v", id, got, err, want)
		}
		rt, err := e.store.GetRefreshToken(e.ctx, hash(id+"-rt"))
		mustOK(t, "GetRefreshToken "+id, err)
		err = e.store.RotateRefreshToken(e.ctx, hash(id+"-rt"), hash(id+"-next"), next(e, rt))
		if want {
			mustErr(t, "rotation of revoked "+id, err, ErrRevoked)
		} else {
			mustOK(t, "rotation of "+id, err)
		}
	}
	matched, revoked, err = e.store.RevokeFamilies(e.ctx, GrantFilter{UserID: testUser.ID})
	if err != nil || matched != 2 || revoked != 0 {
		t.Fatalf("second run: matched %d, revoked %d, %v; want 2, 0", matched, revoked, err)
	}
}

// DeleteClient removes the registration, expired or not, says whether there was one, and is
// idempotent.
func TestDeleteClient(t *testing.T) {
	e := newEnv(t)
	mustOK(t, "PutClient", e.store.PutClient(e.ctx, Client{ID: "client-1", Name: "Cursor", ExpiresAt: e.clock.now().Add(-time.Second)}))
	e.calls.take()
	deleted, err := e.store.DeleteClient(e.ctx, "client-1")
	mustOK(t, "DeleteClient", err)
	e.expectCalls("DeleteClient", map[string]int{"DeleteItem": 1})
	if !deleted {
		t.Error("DeleteClient of an (expired) registration: deleted false")
	}
	if it := e.raw(clientKey("client-1")); it != nil {
		t.Fatalf("client still stored: %v", it)
	}
	deleted, err = e.store.DeleteClient(e.ctx, "client-1")
	if err != nil || deleted {
		t.Errorf("DeleteClient again: %v, %v; want false, nil", deleted, err)
	}
	_, err = e.store.DeleteClient(e.ctx, "")
	mustErr(t, "DeleteClient without id", err, ErrInvalid)
}

// The family keeps the WorkOS session of its sign-in (the code's user), so that a
// session.revoked webhook finds the grants of that session.
func TestFamilyKeepsTheWorkOSSession(t *testing.T) {
	e := newEnv(t)
	f := issueFor(t, e, "fam-s", "client-1", testUser)
	got, err := e.store.Families(e.ctx, GrantFilter{UserID: testUser.ID})
	mustOK(t, "Families", err)
	if len(got) != 1 || got[0].SessionID == "" || got[0].SessionID != f.SessionID {
		t.Fatalf("got %+v, want session %q", got, testUser.SessionID)
	}
}

// A WorkOS event id is claimed once (ClaimWebhookEvent: ErrExists the second time, so a
// redelivery acts on nothing), and can be claimed again once released after a failure.
func TestWebhookEventClaimedOnce(t *testing.T) {
	e := newEnv(t)
	exp := e.clock.now().Add(time.Hour)
	mustOK(t, "first claim", e.store.ClaimWebhookEvent(e.ctx, "event_01", exp))
	if err := e.store.ClaimWebhookEvent(e.ctx, "event_01", exp); !errors.Is(err, ErrExists) {
		t.Fatalf("second claim: %v, want ErrExists", err)
	}
	mustOK(t, "release", e.store.ReleaseWebhookEvent(e.ctx, "event_01"))
	mustOK(t, "claim after release", e.store.ClaimWebhookEvent(e.ctx, "event_01", exp))
	if err := e.store.ClaimWebhookEvent(e.ctx, "", exp); !errors.Is(err, ErrInvalid) {
		t.Fatalf("empty id: %v, want ErrInvalid", err)
	}
}
