package web

import (
	"context"
	"encoding/base64"
	"log/slog"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// ProxyHandler is the signature lambda.Start expects for API Gateway REST (v1) proxy events.
type ProxyHandler func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// LambdaHandler adapts h to API Gateway proxy events. Identity travels only in the event's
// request context (core.GetAPIGatewayContextFromContext); the adapter's context header is
// removed from the incoming request first, because a client could forge claims with it.
// An event that cannot become a request gets a 400, and a panic a bare 500: never a stack trace.
func LambdaHandler(h http.Handler, log *slog.Logger) ProxyHandler {
	adapter := httpadapter.New(Recover(h, log))
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		ev.Headers = dropHeader(ev.Headers, core.APIGwContextHeader, core.APIGwStageVarsHeader)
		for k := range ev.MultiValueHeaders {
			if strings.EqualFold(k, core.APIGwContextHeader) || strings.EqualFold(k, core.APIGwStageVarsHeader) {
				delete(ev.MultiValueHeaders, k)
			}
		}
		if ev.IsBase64Encoded {
			if _, err := base64.StdEncoding.DecodeString(ev.Body); err != nil {
				return badEvent("request body is not valid base64"), nil
			}
		}
		resp, err := adapter.ProxyWithContext(ctx, ev)
		if err != nil {
			// Not err's text: it can quote the request's URL, query string included.
			log.WarnContext(ctx, "event could not be converted", "outcome", "invalid_request", "reason", "the event is not a valid HTTP request")
			return badEvent("malformed request"), nil
		}
		return resp, nil
	}
}

func dropHeader(h map[string]string, names ...string) map[string]string {
	for k := range h {
		for _, n := range names {
			if strings.EqualFold(k, n) {
				delete(h, k)
			}
		}
	}
	return h
}

func badEvent(desc string) events.APIGatewayProxyResponse {
	return events.APIGatewayProxyResponse{
		StatusCode: http.StatusBadRequest,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Strict-Transport-Security": StrictTransportSecurity},
		Body:       `{"error":"invalid_request","error_description":"` + desc + `"}`,
	}
}

// Recover is the outermost layer of every endpoint: it sets Strict-Transport-Security on
// every response (pages, JSON, redirects) and turns a panic into a 500 with a generic body,
// logging only the panic value.
func Recover(h http.Handler, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetTransportSecurity(w)
		defer func() {
			if v := recover(); v != nil {
				log.ErrorContext(r.Context(), "panic while handling request", "outcome", "server_error", "panic", slog.AnyValue(v).String())
				w.Header().Set("Cache-Control", "no-store")
				JSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error", "error_description": "internal error"})
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// ClientIP is the caller's address as API Gateway saw it (identity.sourceIp), which the
// proxy adapter places in RemoteAddr.
func ClientIP(r *http.Request) string {
	if ctx, ok := core.GetAPIGatewayContextFromContext(r.Context()); ok && ctx.Identity.SourceIP != "" {
		return ctx.Identity.SourceIP
	}
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}
