package store

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// UpstreamState is a pending WorkOS sign-in, keyed by the hash of the state sent to
// WorkOS (about 10 minutes, single use, bound to the browser that started it).
type UpstreamState struct {
	Request        AuthRequest
	SealedVerifier []byte // the PKCE verifier toward WorkOS, sealed by the caller
	BrowserHash    []byte // SHA-256 of the browser cookie (32 bytes, required)
	// ConsentApproved: the person in this browser approved this very request on the
	// consent page before sign-in; the callback records the consent for whoever signs in.
	ConsentApproved bool
	// Remembered is the consent that was on record for this browser, client and resource
	// when the request arrived (zero when none). Without ConsentApproved, the consent page
	// was skipped because of it, and the callback may issue a code only to Remembered.UserID.
	Remembered Consent
	// RedirectApproved: a signed-in person approved this client with this redirect URI
	// before, so a new approval need not record it again.
	RedirectApproved bool
	// ForConnectedApps: the person is signing in to the connected-apps page, not
	// authorizing a client (Request is then empty); the callback opens the page.
	ForConnectedApps bool
	ExpiresAt        time.Time
}

// PutUpstreamState stores a new state; ErrExists if the hash is taken.
func (s *Store) PutUpstreamState(ctx context.Context, stateHash []byte, st UpstreamState) error {
	if err := checkHash(stateHash); err != nil {
		return err
	}
	if err := checkHash(st.BrowserHash); err != nil {
		return err
	}
	if err := checkExpiry(st.ExpiresAt); err != nil {
		return err
	}
	it := keyOf(hashKey(prefixState, stateHash))
	putRequest(it, st.Request)
	putB(it, "sealed_verifier", st.SealedVerifier)
	putB(it, "browser_hash", st.BrowserHash)
	if st.ConsentApproved {
		it["consent_approved"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	putRemembered(it, st.Remembered)
	if st.RedirectApproved {
		it["redirect_approved"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if st.ForConnectedApps {
		it["for_connected_apps"] = &types.AttributeValueMemberBOOL{Value: true}
	}
	putTime(it, attrExpiresAt, st.ExpiresAt)
	return s.create(ctx, it)
}

// ConsumeUpstreamState deletes the state and returns it, only when it is live and bound to
// browserHash: one DeleteItem whose condition includes the browser binding, with
// ReturnValues ALL_OLD. A state that is missing, expired or used gives ErrNotFound; a live
// state of another browser gives ErrOtherBrowser. Either way nothing is changed, so a
// callback replayed in another browser cannot spend the genuine browser's sign-in.
func (s *Store) ConsumeUpstreamState(ctx context.Context, stateHash, browserHash []byte) (UpstreamState, error) {
	if err := checkHash(stateHash); err != nil {
		return UpstreamState{}, err
	}
	if err := checkHash(browserHash); err != nil {
		return UpstreamState{}, err
	}
	now := s.now()
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                           aws.String(s.table),
		Key:                                 keyOf(hashKey(prefixState, stateHash)),
		UpdateExpression:                    aws.String("SET #consumed = :token"),
		ConditionExpression:                 aws.String(condLive + " AND #browser = :browser AND " + condUnconsumedOrMine),
		ExpressionAttributeNames:            map[string]string{"#pk": attrPK, "#exp": attrExpiresAt, "#browser": "browser_hash", "#consumed": attrConsumed},
		ExpressionAttributeValues:           item{":now": epoch(now), ":browser": &types.AttributeValueMemberB{Value: browserHash}, ":token": callToken()},
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	if ccf := conditionFailure(err); ccf != nil {
		if live(ccf.Item, now, false) && !consumed(ccf.Item) {
			return UpstreamState{}, ErrOtherBrowser
		}
		return UpstreamState{}, ErrNotFound
	}
	if err != nil {
		return UpstreamState{}, wrap("consume state", err)
	}
	it := out.Attributes
	return UpstreamState{
		Request:          getRequest(it),
		SealedVerifier:   getB(it, "sealed_verifier"),
		BrowserHash:      getB(it, "browser_hash"),
		ConsentApproved:  getBool(it, "consent_approved"),
		Remembered:       getRemembered(it),
		RedirectApproved: getBool(it, "redirect_approved"),
		ForConnectedApps: getBool(it, "for_connected_apps"),
		ExpiresAt:        getTime(it, attrExpiresAt),
	}, nil
}

// putRemembered and getRemembered keep, inside a pending request, the consent that was on
// record when it arrived.
func putRemembered(it item, c Consent) {
	putS(it, "consent_user_id", c.UserID)
	putS(it, "consent_scope", c.Scope)
	putTime(it, "consent_granted_at", c.GrantedAt)
	putTime(it, "consent_expires_at", c.ExpiresAt)
}

func getRemembered(it item) Consent {
	return Consent{
		UserID: getS(it, "consent_user_id"), Scope: getS(it, "consent_scope"),
		GrantedAt: getTime(it, "consent_granted_at"), ExpiresAt: getTime(it, "consent_expires_at"),
	}
}
