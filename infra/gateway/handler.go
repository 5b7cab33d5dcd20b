package gateway

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authbridge/authbridge/infra/samtemplate"
)

// API Gateway limits (REST API).
const (
	// DefaultIntegrationTimeout is API Gateway's maximum integration timeout.
	DefaultIntegrationTimeout = 29 * time.Second
	// DefaultMaxBodyBytes is API Gateway's request payload limit.
	DefaultMaxBodyBytes = 10 << 20
	// lambdaPayloadLimit is Lambda's limit for a synchronous invocation's event (the RIE
	// enforces the response limit itself).
	lambdaPayloadLimit = 6 << 20
)

// Config configures a Handler.
type Config struct {
	// Stage, when set ("Prod" or "/Prod"), serves the API under /<Stage>/ as the default
	// execute-api endpoint does: other paths get 403 {"message":"Forbidden"}, and the
	// stage is stripped from path and resource. Empty serves the API at the root, as a
	// custom domain does.
	Stage string
	// Invoker runs the functions.
	Invoker Invoker
	// IntegrationTimeout defaults to 29 s.
	IntegrationTimeout time.Duration
	// MaxBodyBytes defaults to 10 MB.
	MaxBodyBytes int64
	// Logger receives one line per request and the reasons behind 5xx answers; nil
	// discards them.
	Logger *slog.Logger
	// Now is the clock of the authorizer cache; nil means time.Now.
	Now func() time.Time
}

// Handler is an http.Handler that behaves like the API Gateway REST API of a template.
type Handler struct {
	api     *API
	mounts  []*API // the APIs mapped below the root of the custom domain, longest base path first
	cfg     Config
	stage   string // "/Prod" or ""
	log     *slog.Logger
	cacheMu sync.Mutex
	cache   map[string]cachedAuth
}

// NewHandler builds the gateway for the template's API.
func NewHandler(t *Template, cfg Config) (*Handler, error) {
	if cfg.Invoker == nil {
		return nil, errors.New("gateway: no Invoker")
	}
	if cfg.IntegrationTimeout <= 0 {
		cfg.IntegrationTimeout = DefaultIntegrationTimeout
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	h := &Handler{api: t.API, cfg: cfg, log: cfg.Logger, cache: map[string]cachedAuth{}}
	if h.log == nil {
		h.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if s := strings.Trim(cfg.Stage, "/"); s != "" {
		h.stage = "/" + s
	}
	if h.stage == "" { // the custom domain: every mapping (execute-api has only the main API)
		for _, id := range samtemplate.Sorted(t.APIs) {
			if api := t.APIs[id]; api != t.API {
				h.mounts = append(h.mounts, api)
			}
		}
		sort.SliceStable(h.mounts, func(i, j int) bool { return len(h.mounts[i].BasePath) > len(h.mounts[j].BasePath) })
	}
	return h, nil
}

// Mounted lists the APIs the handler serves below the root (the custom domain's API
// mappings), longest base path first; none with a stage prefix.
func (h *Handler) Mounted() []*API { return h.mounts }

// API is the API the handler serves.
func (h *Handler) API() *API { return h.api }

// Functions lists the logical IDs of the functions the API invokes (integrations and
// authorizers), sorted.
func (h *Handler) Functions() []string {
	set := map[string]bool{}
	for _, api := range append([]*API{h.api}, h.mounts...) {
		for _, rt := range api.Routes {
			if rt.Function != "" {
				set[rt.Function] = true
			}
			if rt.Authorizer != "" {
				set[api.Authorizers[rt.Authorizer].Function] = true
			}
		}
	}
	return samtemplate.Sorted(set)
}

// reqCtx is one request on its way through the gateway.
type reqCtx struct {
	r          *http.Request
	api        *API           // the API the request is for
	authCtx    map[string]any // the authorizer's context (on an Allow, and on a Deny for gateway response templates)
	requestID  string
	extendedID string
	traceID    string
	start      time.Time
	path       string // decoded, stage stripped
	route      *Route
	pathParams map[string]string
	headers    map[string]string
	mvHeaders  map[string][]string
	query      map[string]string
	mvQuery    map[string][]string
	sourceIP   string
	body       []byte
}

func (rc *reqCtx) header(name string) string {
	for k, v := range rc.headers {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc := &reqCtx{r: r, api: h.api, requestID: newUUID(), extendedID: randomID(12), start: time.Now()}
	rc.traceID = fmt.Sprintf("Root=1-%08x-%s", rc.start.Unix(), randomHex(12))
	status := h.serve(w, rc)
	attrs := []any{"method", r.Method, "path", r.URL.RequestURI(), "status", status, "ms", time.Since(rc.start).Milliseconds()}
	if rc.api != h.api {
		attrs = append(attrs, "api", rc.api.LogicalID)
	}
	if rc.route != nil && rc.route.Function != "" {
		attrs = append(attrs, "function", rc.route.Function)
	}
	h.log.Info("request", attrs...)
}

func (h *Handler) serve(w http.ResponseWriter, rc *reqCtx) int {
	r := rc.r
	esc := r.URL.EscapedPath()
	if h.stage != "" {
		if esc != h.stage && !strings.HasPrefix(esc, h.stage+"/") {
			// What execute-api answers for a path outside any deployed stage.
			body := `{"message":"Forbidden"}`
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("x-amzn-ErrorType", "ForbiddenException")
			h.commonHeaders(w.Header(), rc)
			w.WriteHeader(http.StatusForbidden)
			_, _ = io.WriteString(w, body)
			return http.StatusForbidden
		}
		esc = strings.TrimPrefix(esc, h.stage)
		if esc == "" {
			esc = "/"
		}
	}
	// The custom domain's API mappings: the longest matching base path wins, and API
	// Gateway strips it ("API Gateway strips the incoming base path",
	// rest-api-mappings.html).
	for _, api := range h.mounts {
		base := "/" + api.BasePath
		if esc == base || strings.HasPrefix(esc, base+"/") {
			rc.api = api
			esc = strings.TrimPrefix(esc, base)
			if esc == "" {
				esc = "/"
			}
			break
		}
	}
	rc.path = unescape(esc)
	rc.route, rc.pathParams = rc.api.match(r.Method, esc)
	if rc.route == nil {
		return h.gatewayResponse(w, rc, respMissingAuthToken)
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return h.gatewayResponse(w, rc, respRequestTooLarge)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, h.cfg.MaxBodyBytes+1))
	if err != nil {
		h.log.Warn("reading the request body", "err", err)
		return h.gatewayResponse(w, rc, respBadRequestBody)
	}
	if int64(len(body)) > h.cfg.MaxBodyBytes {
		return h.gatewayResponse(w, rc, respRequestTooLarge)
	}
	rc.body = body
	h.readRequest(rc)

	if rc.route.Authorizer != "" {
		var typ string
		rc.authCtx, typ = h.authorize(r.Context(), rc, rc.api.Authorizers[rc.route.Authorizer])
		if typ != "" {
			return h.gatewayResponse(w, rc, typ)
		}
	}
	if rc.route.HTTP != nil {
		return h.integrateHTTP(w, rc)
	}
	return h.integrate(w, rc, rc.authCtx)
}

// readRequest collects headers and query parameters the way API Gateway passes them on.
func (h *Handler) readRequest(rc *reqCtx) {
	r := rc.r
	rc.sourceIP = r.RemoteAddr
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		rc.sourceIP = host
	}
	mv := map[string][]string{}
	for k, vs := range r.Header {
		mv[k] = append([]string(nil), vs...)
	}
	mv["Host"] = []string{r.Host}
	xff := rc.sourceIP
	if prev := r.Header.Values("X-Forwarded-For"); len(prev) > 0 {
		xff = strings.Join(prev, ", ") + ", " + rc.sourceIP
	}
	mv["X-Forwarded-For"] = []string{xff}
	proto, port := "http", "80"
	if r.TLS != nil {
		proto, port = "https", "443"
	}
	if addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		if _, p, err := net.SplitHostPort(addr.String()); err == nil {
			port = p
		}
	}
	mv["X-Forwarded-Proto"] = []string{proto}
	mv["X-Forwarded-Port"] = []string{port}
	if t := r.Header.Get("X-Amzn-Trace-Id"); t != "" {
		rc.traceID = t
	}
	mv["X-Amzn-Trace-Id"] = []string{rc.traceID}
	rc.mvHeaders = mv
	rc.headers = make(map[string]string, len(mv))
	for k, vs := range mv {
		rc.headers[k] = vs[len(vs)-1]
	}
	if q := r.URL.Query(); len(q) > 0 {
		rc.mvQuery = map[string][]string(q)
		rc.query = make(map[string]string, len(q))
		for k, vs := range q {
			rc.query[k] = vs[len(vs)-1]
		}
	}
}

// requestFields are the members the proxy event and the REQUEST authorizer event share,
// as API Gateway fills them for one request.
type requestFields struct {
	Resource                        string              `json:"resource"`
	Path                            string              `json:"path"`
	HTTPMethod                      string              `json:"httpMethod"`
	Headers                         map[string]string   `json:"headers"`
	MultiValueHeaders               map[string][]string `json:"multiValueHeaders"`
	QueryStringParameters           map[string]string   `json:"queryStringParameters"`
	MultiValueQueryStringParameters map[string][]string `json:"multiValueQueryStringParameters"`
	PathParameters                  map[string]string   `json:"pathParameters"`
	StageVariables                  map[string]string   `json:"stageVariables"` // null when the stage has none
	RequestContext                  requestContext      `json:"requestContext"`
}

func (h *Handler) requestFields(rc *reqCtx) requestFields {
	return requestFields{
		Resource:                        rc.route.Path,
		Path:                            rc.path,
		HTTPMethod:                      rc.r.Method,
		Headers:                         rc.headers,
		MultiValueHeaders:               rc.mvHeaders,
		QueryStringParameters:           rc.query,
		MultiValueQueryStringParameters: rc.mvQuery,
		PathParameters:                  rc.pathParams,
		StageVariables:                  rc.api.Variables,
		RequestContext:                  h.requestContext(rc),
	}
}

// proxyEvent is API Gateway's Lambda proxy integration event (payload version 1.0),
// with nulls where API Gateway sends nulls.
type proxyEvent struct {
	requestFields
	Body            *string `json:"body"`
	IsBase64Encoded bool    `json:"isBase64Encoded"`
}

type requestContext struct {
	ResourceID        string         `json:"resourceId"`
	Authorizer        map[string]any `json:"authorizer,omitempty"`
	ResourcePath      string         `json:"resourcePath"`
	HTTPMethod        string         `json:"httpMethod"`
	ExtendedRequestID string         `json:"extendedRequestId"`
	RequestTime       string         `json:"requestTime"`
	Path              string         `json:"path"`
	AccountID         string         `json:"accountId"`
	Protocol          string         `json:"protocol"`
	Stage             string         `json:"stage"`
	DomainPrefix      string         `json:"domainPrefix"`
	RequestTimeEpoch  int64          `json:"requestTimeEpoch"`
	RequestID         string         `json:"requestId"`
	Identity          identity       `json:"identity"`
	DomainName        string         `json:"domainName"`
	DeploymentID      string         `json:"deploymentId"`
	APIID             string         `json:"apiId"`
}

type identity struct {
	CognitoIdentityPoolID         *string `json:"cognitoIdentityPoolId"`
	AccountID                     *string `json:"accountId"`
	CognitoIdentityID             *string `json:"cognitoIdentityId"`
	Caller                        *string `json:"caller"`
	SourceIP                      string  `json:"sourceIp"`
	PrincipalOrgID                *string `json:"principalOrgId"`
	AccessKey                     *string `json:"accessKey"`
	CognitoAuthenticationType     *string `json:"cognitoAuthenticationType"`
	CognitoAuthenticationProvider *string `json:"cognitoAuthenticationProvider"`
	UserArn                       *string `json:"userArn"`
	UserAgent                     string  `json:"userAgent"`
	User                          *string `json:"user"`
}

func (h *Handler) requestContext(rc *reqCtx) requestContext {
	host := rc.r.Host
	if hst, _, err := net.SplitHostPort(host); err == nil {
		host = hst
	}
	prefix, _, _ := strings.Cut(host, ".")
	reqPath := rc.path
	if h.stage != "" || rc.api.BasePath != "" { // the path as requested, stage or base path included
		reqPath = unescape(rc.r.URL.EscapedPath())
	}
	return requestContext{
		ResourceID:        shortHash("resource:" + rc.route.Path),
		ResourcePath:      rc.route.Path,
		HTTPMethod:        rc.r.Method,
		ExtendedRequestID: rc.extendedID,
		RequestTime:       rc.start.UTC().Format("02/Jan/2006:15:04:05 -0700"),
		Path:              reqPath,
		AccountID:         samtemplate.AccountID,
		Protocol:          rc.r.Proto,
		Stage:             rc.api.StageName,
		DomainPrefix:      prefix,
		RequestTimeEpoch:  rc.start.UnixMilli(),
		RequestID:         rc.requestID,
		Identity:          identity{SourceIP: rc.sourceIP, UserAgent: rc.r.UserAgent()},
		DomainName:        rc.r.Host,
		DeploymentID:      shortHash("deployment:" + rc.api.ID),
		APIID:             rc.api.ID,
	}
}

func (h *Handler) proxyEvent(rc *reqCtx, authCtx map[string]any) proxyEvent {
	ev := proxyEvent{requestFields: h.requestFields(rc)}
	ev.RequestContext.Authorizer = authCtx
	if len(rc.body) > 0 {
		// Without BinaryMediaTypes (the template has none) API Gateway passes every body as
		// text, never base64 ("Working with binary media types for REST APIs").
		s := string(rc.body)
		ev.Body = &s
	}
	return ev
}

func (h *Handler) integrate(w http.ResponseWriter, rc *reqCtx, authCtx map[string]any) int {
	fn := rc.route.Function
	payload, err := json.Marshal(h.proxyEvent(rc, authCtx))
	if err != nil {
		h.log.Error("encoding the event", "function", fn, "err", err)
		return h.gatewayResponse(w, rc, respLambdaError)
	}
	if len(payload) > lambdaPayloadLimit {
		// Lambda refuses the invocation (RequestEntityTooLargeException); the RIE would
		// truncate the event instead.
		h.log.Warn("the event exceeds Lambda's 6 MB synchronous invocation limit", "function", fn, "bytes", len(payload))
		return h.gatewayResponse(w, rc, respRequestTooLarge)
	}
	ctx, cancel := context.WithTimeout(rc.r.Context(), h.cfg.IntegrationTimeout)
	defer cancel()
	out, err := h.cfg.Invoker.Invoke(ctx, fn, payload)
	if err != nil {
		if rc.r.Context().Err() != nil {
			return 499 // the client went away
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			h.log.Warn("integration timed out", "function", fn, "timeout", h.cfg.IntegrationTimeout)
			return h.gatewayResponse(w, rc, respIntegrationTimeout)
		}
		var fe *FunctionError
		if errors.As(err, &fe) {
			h.log.Warn("Lambda function failed: 502", "function", fn, "errorType", fe.Type(), "errorMessage", fe.Message())
		} else {
			h.log.Error("invoking the function", "function", fn, "err", err)
		}
		return h.gatewayResponse(w, rc, respLambdaError)
	}
	resp, err := parseProxyResponse(out)
	if err != nil {
		h.log.Warn("Malformed Lambda proxy response: 502", "function", fn, "err", err, "output", truncate(out, 300))
		return h.gatewayResponse(w, rc, respLambdaError)
	}
	// Without BinaryMediaTypes, API Gateway passes an isBase64Encoded body on as the
	// base64 text it is.
	body := []byte(resp.body)
	hdr := w.Header()
	for k, vs := range resp.header {
		hdr[k] = vs
	}
	if hdr.Get("Content-Type") == "" {
		hdr.Set("Content-Type", "application/json")
	}
	h.commonHeaders(hdr, rc)
	hdr.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.status)
	_, _ = w.Write(body)
	return resp.status
}

type proxyResponse struct {
	status int
	header http.Header
	body   string
}

// parseProxyResponse checks a function's output like API Gateway's Lambda proxy
// integration: a JSON object with statusCode, optional headers, multiValueHeaders, body
// (a string) and isBase64Encoded.
func parseProxyResponse(out []byte) (*proxyResponse, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(out, &raw); err != nil || raw == nil {
		return nil, errors.New("the output is not a JSON object")
	}
	resp := &proxyResponse{header: http.Header{}}
	sc, ok := raw["statusCode"]
	if !ok {
		return nil, errors.New("statusCode is missing")
	}
	var n json.Number
	dec := json.NewDecoder(strings.NewReader(string(sc)))
	dec.UseNumber()
	var scv any
	if err := dec.Decode(&scv); err != nil {
		return nil, errors.New("statusCode is not a number")
	}
	switch v := scv.(type) {
	case json.Number:
		n = v
	case string:
		n = json.Number(v)
	default:
		return nil, errors.New("statusCode is not a number")
	}
	status, err := strconv.Atoi(n.String())
	if err != nil || status < 100 || status > 599 {
		return nil, fmt.Errorf("statusCode %s is not an HTTP status", n)
	}
	resp.status = status
	if b, ok := raw["body"]; ok && string(b) != "null" {
		if err := json.Unmarshal(b, &resp.body); err != nil {
			return nil, errors.New("body is not a string")
		}
	}
	if b, ok := raw["isBase64Encoded"]; ok && string(b) != "null" {
		var isBase64 bool
		if err := json.Unmarshal(b, &isBase64); err != nil {
			return nil, errors.New("isBase64Encoded is not a boolean")
		}
	}
	multi := map[string][]string{}
	if b, ok := raw["multiValueHeaders"]; ok && string(b) != "null" {
		var m map[string][]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, errors.New("multiValueHeaders is not an object of lists")
		}
		for k, vs := range m {
			for _, v := range vs {
				s, ok := headerValue(v)
				if !ok {
					return nil, fmt.Errorf("multiValueHeaders.%s holds %v", k, v)
				}
				multi[http.CanonicalHeaderKey(k)] = append(multi[http.CanonicalHeaderKey(k)], s)
			}
		}
	}
	if b, ok := raw["headers"]; ok && string(b) != "null" {
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, errors.New("headers is not an object")
		}
		for k, v := range m {
			s, ok := headerValue(v)
			if !ok {
				return nil, fmt.Errorf("headers.%s is %v, not a string", k, v)
			}
			if _, dup := multi[http.CanonicalHeaderKey(k)]; !dup { // multiValueHeaders win
				resp.header.Set(k, s)
			}
		}
	}
	for k, vs := range multi {
		resp.header[k] = vs
	}
	return resp, nil
}

// headerValue is a proxy response's header value: a string, or a number or boolean that
// API Gateway turns into one.
func headerValue(v any) (string, bool) {
	switch v.(type) {
	case string, float64, bool:
		return samtemplate.Scalar(v), true
	}
	return "", false
}

func truncate(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return string(b[:n]) + "…"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randomID(n int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

// shortHash is a stable 6-character id (resourceId, deploymentId).
func shortHash(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(sum[:3])
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
