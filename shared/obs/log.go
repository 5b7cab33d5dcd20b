package obs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
)

// Keys every log line carries.
const (
	// KeyRequestID is the Lambda request id (the key lambdacontext's handler writes), or
	// Scope's own id outside Lambda.
	KeyRequestID = "requestId"
	// KeyAPIRequestID is API Gateway's requestContext.requestId (the x-amzn-RequestId a
	// caller sees), when the request came through API Gateway.
	KeyAPIRequestID = "apiRequestId"
	KeyRoute        = "route"     // the endpoint's path, e.g. /api/ext/auth/token
	KeyClientID     = "client_id" // the OAuth client, "" until it is known
	KeyOutcome      = "outcome"   // what happened: issued, consent_page, invalid_grant, …
)

// scope is one request's identity for its log lines and metrics. Handlers add the client id
// once they know it; a request is served by one goroutine, so no lock is needed.
type scope struct {
	route        string
	requestID    string
	apiRequestID string
	clientID     string
}

type scopeKey struct{}

// Scope serves next with the request's scope in its context: route, request id and, once
// SetClientID is called, the client id. Log lines written with that context (the *Context
// slog methods) and metrics carry them without the caller repeating them.
func Scope(route string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		sc := &scope{route: route}
		if gw, ok := core.GetAPIGatewayContextFromContext(ctx); ok {
			sc.apiRequestID = gw.RequestID
		}
		if lc, ok := lambdacontext.FromContext(ctx); ok {
			sc.requestID = lc.AwsRequestID
		} else if sc.apiRequestID != "" {
			sc.requestID, sc.apiRequestID = sc.apiRequestID, ""
		} else {
			sc.requestID = newRequestID()
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(ctx, scopeKey{}, sc)))
	})
}

// SetClientID records the request's client id, once the handler has identified the client,
// for every later log line and metric of the request. Outside a Scope it does nothing.
func SetClientID(ctx context.Context, clientID string) {
	if sc := scopeOf(ctx); sc != nil {
		sc.clientID = clientID
	}
}

// RequestID returns the request's id: Lambda's request id in Lambda, else Scope's.
func RequestID(ctx context.Context) string {
	if lc, ok := lambdaContext(ctx); ok {
		return lc.AwsRequestID
	}
	if sc := scopeOf(ctx); sc != nil {
		return sc.requestID
	}
	return ""
}

func scopeOf(ctx context.Context) *scope {
	if ctx == nil {
		return nil
	}
	sc, _ := ctx.Value(scopeKey{}).(*scope)
	return sc
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// NewHandler wraps inner (in Lambda, lambdacontext.NewLogHandler()) so that every record has
// the keys route, client_id and outcome — from the record, else from the request's Scope,
// else empty — and a requestId: lambdacontext's handler adds Lambda's, and outside Lambda this
// handler adds Scope's. Give the context to the logger (InfoContext, …) or the request's keys
// are left empty. Attributes inside a group (WithGroup) do not count as the record's own.
func NewHandler(inner slog.Handler) slog.Handler {
	return &handler{inner: inner}
}

type handler struct {
	inner   slog.Handler
	set     keySet // request keys already given through WithAttrs
	grouped bool   // WithGroup was called: later attributes are not top-level
}

type keySet uint8

const (
	hasRoute keySet = 1 << iota
	hasClientID
	hasOutcome
	hasRequestID
	hasAPIRequestID
)

func keyBit(key string) keySet {
	switch key {
	case KeyRoute:
		return hasRoute
	case KeyClientID:
		return hasClientID
	case KeyOutcome:
		return hasOutcome
	case KeyRequestID:
		return hasRequestID
	case KeyAPIRequestID:
		return hasAPIRequestID
	}
	return 0
}

func (h *handler) Enabled(ctx context.Context, level slog.Level) bool {
	return h.inner.Enabled(ctx, level)
}

func (h *handler) Handle(ctx context.Context, r slog.Record) error {
	set := h.set
	if !h.grouped {
		r.Attrs(func(a slog.Attr) bool {
			set |= keyBit(a.Key)
			return true
		})
	}
	sc := scopeOf(ctx)
	var s scope
	if sc != nil {
		s = *sc
	}
	var add [5]slog.Attr
	n := 0
	if set&hasRoute == 0 {
		add[n], n = slog.String(KeyRoute, s.route), n+1
	}
	if set&hasClientID == 0 {
		add[n], n = slog.String(KeyClientID, s.clientID), n+1
	}
	if set&hasOutcome == 0 {
		add[n], n = slog.String(KeyOutcome, ""), n+1
	}
	_, inLambda := lambdaContext(ctx)
	if set&hasRequestID == 0 && !inLambda && s.requestID != "" { // in Lambda, lambdacontext adds it
		add[n], n = slog.String(KeyRequestID, s.requestID), n+1
	}
	if set&hasAPIRequestID == 0 && s.apiRequestID != "" {
		add[n], n = slog.String(KeyAPIRequestID, s.apiRequestID), n+1
	}
	if n > 0 {
		r = r.Clone()
		r.AddAttrs(add[:n]...)
	}
	return h.inner.Handle(ctx, r)
}

func (h *handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.inner = h.inner.WithAttrs(attrs)
	if !h.grouped {
		for _, a := range attrs {
			c.set |= keyBit(a.Key)
		}
	}
	return &c
}

func (h *handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.inner = h.inner.WithGroup(name)
	c.grouped = true
	return &c
}

func lambdaContext(ctx context.Context) (*lambdacontext.LambdaContext, bool) {
	if ctx == nil {
		return nil, false
	}
	return lambdacontext.FromContext(ctx)
}
