// Package faults puts a real fault proxy between Authbridge's code and each service it calls,
// for the resilience tests (infra/resilience): Toxiproxy (Shopify's TCP fault proxy), run
// in-process with its HTTP API on a loopback port and driven through its own Go client as it
// is driven anywhere else, and behind it a small HTTP layer for the faults that are answers
// rather than network conditions (a service's throttling error, a 5xx).
//
//	code under test ──> Toxiproxy proxy ──> answer layer ──> DynamoDB Local / local-kms / WorkOS emulator
//	                    refused, hang,       throttled, 5xx
//	                    slow
//
// Nothing here is deployed; the functions reach AWS and WorkOS directly.
package faults

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Kind is one fault.
type Kind string

// The faults of the matrix: every dependency gets each of them.
const (
	// Refused: the proxy is disabled, so connections are refused (a service that is down).
	Refused Kind = "refused"
	// Hang: requests are swallowed and nothing comes back, the connection left open (a
	// black-holed network path). Requests never reach the service, so nothing is executed.
	Hang Kind = "hang"
	// Slow: every answer arrives SlowLatency late, and is otherwise correct.
	Slow Kind = "slow"
	// Throttled: the service's own throttling answer (DynamoDB
	// ProvisionedThroughputExceededException, KMS ThrottlingException, WorkOS 429 with
	// Retry-After).
	Throttled Kind = "throttled"
	// ServerError: the service's own 5xx answer.
	ServerError Kind = "5xx"
)

// Kinds lists every fault, in the order the tests run them.
var Kinds = []Kind{Refused, Hang, Slow, Throttled, ServerError}

// SlowLatency is the delay the Slow fault adds to each answer.
const SlowLatency = 400 * time.Millisecond

// Service is a kind of dependency: it decides how throttling and 5xx answers look.
type Service string

// The services Authbridge calls.
const (
	DynamoDB Service = "dynamodb"
	KMS      Service = "kms"
	WorkOS   Service = "workos"
)

// Lab is one Toxiproxy server and the dependencies proxied through it.
type Lab struct {
	api    *toxiproxy.ApiServer
	client *toxiclient.Client
	mu     sync.Mutex
	closes []func()
}

// NewLab starts Toxiproxy's API on a free loopback port.
func NewLab() (*Lab, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	go func() { _ = api.Listen(addr) }()
	client := toxiclient.NewClient("http://" + addr)
	for deadline := time.Now().Add(5 * time.Second); ; {
		if _, err := client.Version(); err == nil {
			break
		} else if time.Now().After(deadline) {
			return nil, fmt.Errorf("faults: toxiproxy API did not start: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return &Lab{api: api, client: client}, nil
}

// Close stops every proxy, answer layer and the Toxiproxy API.
func (l *Lab) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.closes {
		c()
	}
	_ = l.api.Shutdown()
}

// Dependency is one service reached through the lab: point the code under test at URL.
type Dependency struct {
	Service Service
	// URL is the proxy's address (http://127.0.0.1:port).
	URL   string
	proxy *toxiclient.Proxy
	layer *answerLayer
}

// Add proxies service at upstream (a base URL such as http://127.0.0.1:8000).
func (l *Lab) Add(service Service, upstream string) (*Dependency, error) {
	target, err := url.Parse(upstream)
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("faults: upstream %q is not a URL", upstream)
	}
	layer := &answerLayer{service: service, proxy: httputil.NewSingleHostReverseProxy(target)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: layer, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	proxy, err := l.client.CreateProxy(string(service)+"-"+strings.TrimPrefix(ln.Addr().String(), "127.0.0.1:"), "127.0.0.1:0", ln.Addr().String())
	if err != nil {
		_ = hs.Close()
		return nil, fmt.Errorf("faults: create proxy: %w", err)
	}
	l.mu.Lock()
	l.closes = append(l.closes, func() { _ = proxy.Delete(); _ = hs.Close() })
	l.mu.Unlock()
	return &Dependency{Service: service, URL: "http://" + proxy.Listen, proxy: proxy, layer: layer}, nil
}

// Inject starts fault k; Heal ends it.
func (d *Dependency) Inject(k Kind) error {
	switch k {
	case Refused:
		return d.proxy.Disable()
	case Hang:
		// Toxiproxy's timeout toxic with timeout 0 drops the data and never closes; on the
		// upstream stream, so the service never sees the request.
		_, err := d.proxy.AddToxic("hang", "timeout", "upstream", 1, toxiclient.Attributes{"timeout": 0})
		return err
	case Slow:
		_, err := d.proxy.AddToxic("slow", "latency", "downstream", 1, toxiclient.Attributes{"latency": SlowLatency.Milliseconds(), "jitter": 0})
		return err
	case Throttled, ServerError:
		d.layer.fault.Store(string(k))
		return nil
	}
	return fmt.Errorf("faults: unknown fault %q", k)
}

// Heal removes every fault: the service answers as before, through the same address.
func (d *Dependency) Heal() error {
	d.layer.fault.Store("")
	var errs []error
	if err := d.proxy.Enable(); err != nil {
		errs = append(errs, err)
	}
	toxics, err := d.proxy.Toxics()
	if err != nil {
		return errors.Join(append(errs, err)...)
	}
	for _, t := range toxics {
		if err := d.proxy.RemoveToxic(t.Name); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// answerLayer passes requests to the service, or answers them with the service's own
// throttling or 5xx error while such a fault is on.
type answerLayer struct {
	service Service
	proxy   *httputil.ReverseProxy
	fault   atomic.Value // "", "throttled", "5xx"
}

func (a *answerLayer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	fault, _ := a.fault.Load().(string)
	if fault == "" {
		a.proxy.ServeHTTP(w, r)
		return
	}
	status, contentType, body, header := a.answer(Kind(fault))
	for k, v := range header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}

// answer is the error the service itself sends: the AWS JSON protocols' __type and
// x-amzn-ErrorType (DynamoDB: JSON 1.0, KMS: JSON 1.1), WorkOS's JSON message with 429
// Retry-After.
func (a *answerLayer) answer(k Kind) (status int, contentType, body string, header map[string]string) {
	throttled := k == Throttled
	switch a.service {
	case DynamoDB:
		if throttled {
			return 400, "application/x-amz-json-1.0",
				`{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for the table was exceeded."}`,
				map[string]string{"x-amzn-ErrorType": "ProvisionedThroughputExceededException"}
		}
		return 500, "application/x-amz-json-1.0",
			`{"__type":"com.amazonaws.dynamodb.v20120810#InternalServerError","message":"Internal server error"}`,
			map[string]string{"x-amzn-ErrorType": "InternalServerError"}
	case KMS:
		if throttled {
			return 400, "application/x-amz-json-1.1", `{"__type":"ThrottlingException","message":"Rate exceeded"}`,
				map[string]string{"x-amzn-ErrorType": "ThrottlingException"}
		}
		return 500, "application/x-amz-json-1.1", `{"__type":"KMSInternalException","message":"An internal error occurred."}`,
			map[string]string{"x-amzn-ErrorType": "KMSInternalException"}
	default: // WorkOS
		if throttled {
			return 429, "application/json", `{"message":"Too many requests"}`, map[string]string{"Retry-After": "7"}
		}
		return 503, "application/json", `{"message":"Service Unavailable"}`, nil
	}
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
