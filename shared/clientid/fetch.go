package clientid

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/authbridge/authbridge/shared/oauth"
)

// Bounds of a fetch and of the cache.
const (
	// MaxDocumentSize is the largest document accepted (the CIMD draft suggests 5 kilobytes).
	MaxDocumentSize = 5 << 10
	// FetchTimeout bounds one fetch: DNS, connect, TLS, headers and body. The document is on
	// the path of an authorization request, so a slow host must fail fast.
	FetchTimeout = 3 * time.Second
	// DefaultCacheLifetime applies when the response has no Cache-Control max-age and no
	// Expires header.
	DefaultCacheLifetime = 5 * time.Minute
	// MaxCacheLifetime caps any lifetime the response asks for: a client that changes its
	// redirect URIs is trusted with the new ones within the hour.
	MaxCacheLifetime = time.Hour
	// NotFoundCacheLifetime is the negative cache of a 404 or 410 answer; see Fetch.
	NotFoundCacheLifetime = 30 * time.Second
	// maxCacheEntries bounds the memory a flood of distinct client ids can take.
	maxCacheEntries = 1000
	// maxAddrsTried bounds the addresses of one host that are dialled in turn.
	maxAddrsTried = 4
)

// Resolver looks up a host's addresses; *net.Resolver implements it. Whatever it answers,
// each address is checked with IsPublicAddr before it is dialled, and the dialled socket
// address is checked again.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Option configures a Fetcher.
type Option func(*Fetcher)

// WithRootCAs sets the certificate authorities trusted for the document's TLS certificate
// (default: the system roots). Only tests pass it (the fixture server's CA); it does not
// change which addresses may be dialled.
func WithRootCAs(pool *x509.CertPool) Option { return func(f *Fetcher) { f.rootCAs = pool } }

// WithResolver replaces net.DefaultResolver (tests: a name that resolves to chosen
// addresses). It cannot widen what is dialled: every answer goes through the address check.
func WithResolver(r Resolver) Option { return func(f *Fetcher) { f.resolver = r } }

// defaultResolver is the system's DNS.
var defaultResolver Resolver = net.DefaultResolver

// Fetcher fetches and validates Client ID Metadata Documents, with a bounded in-memory
// cache. It is safe for concurrent use; make one per process (a Lambda cold start).
type Fetcher struct {
	supported oauth.Scope
	rootCAs   *x509.CertPool
	resolver  Resolver
	now       func() time.Time
	client    *http.Client

	// allowAddr is the test-only exception to the public-address rule (the fixture server
	// listens on 127.0.0.1). No exported Option sets it: it is set only by export_test.go,
	// which is compiled into this package's tests alone, so no deployed function or
	// configuration can turn it on.
	allowAddr func(netip.Addr) bool
	// allowAddrPort is the local stack's exception (localstack.go, compiled only with the
	// build tag authbridge_localstack): exactly the loopback address and port of its fixture.
	allowAddrPort func(netip.AddrPort) bool
	// connect replaces the network connect in tests (export_test.go), after both checks.
	connect func(ctx context.Context, network, address string) (net.Conn, error)

	mu    sync.Mutex
	cache map[string]cacheEntry
}

type cacheEntry struct {
	doc     Document
	err     error // ErrNotFound (wrapped) for a negative entry; nil otherwise
	expires time.Time
}

// NewFetcher returns a Fetcher validating documents against the supported scopes (the
// server's scope list, as for registrations: requested scopes outside it are dropped).
func NewFetcher(supported oauth.Scope, opts ...Option) *Fetcher {
	f := &Fetcher{
		supported: append(oauth.Scope(nil), supported...),
		resolver:  defaultResolver,
		now:       time.Now,
		cache:     map[string]cacheEntry{},
	}
	for _, o := range append(localStackOptions(), opts...) {
		o(f)
	}
	transport := &http.Transport{
		// Never a proxy: the address check must see the document host's own address, and
		// HTTPS_PROXY in the environment would make it check the proxy's instead.
		Proxy:                  nil,
		DialContext:            f.dialContext,
		TLSClientConfig:        &tls.Config{RootCAs: f.rootCAs, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:    FetchTimeout,
		ResponseHeaderTimeout:  FetchTimeout,
		MaxResponseHeaderBytes: 16 << 10,
		MaxIdleConns:           10,
		IdleConnTimeout:        30 * time.Second,
	}
	f.client = &http.Client{
		Transport: transport,
		Timeout:   FetchTimeout,
		// No redirects: the document must be at the client_id URL itself (a 3xx is an
		// error), and a redirect could lead the fetch to another host.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return f
}

// Fetch returns the validated metadata document of clientID, from the cache when a valid
// entry is there. Errors wrap the Err* values of this package.
//
// Caching (draft-ietf-oauth-client-id-metadata-document: the server caches the document per
// HTTP cache headers, does not cache errors or invalid documents, and may bound the
// lifetime): a valid document is kept for Cache-Control max-age (or Expires), less Age, at
// most MaxCacheLifetime, DefaultCacheLifetime when the response says nothing; no-store and
// no-cache keep it out of the cache (there is no revalidation). Invalid documents and
// failures are never cached, with one exception: a 404 or 410 is kept for
// NotFoundCacheLifetime (30 s). That answer is not an error of the fetch nor an invalid
// document but the host's own statement that no document exists, which HTTP itself treats
// as cacheable (RFC 9110 §15.5.5, §15.5.11); the short lifetime stops one request per
// authorization attempt going to a host for an id that does not exist, and a client that
// publishes its document waits at most 30 s. A 404 with no-store is not cached.
func (f *Fetcher) Fetch(ctx context.Context, clientID string) (Document, error) {
	u, ok := parseURLClientID(clientID)
	if !ok {
		return Document{}, ErrNotURLClientID
	}
	now := f.now()
	f.mu.Lock()
	e, hit := f.cache[clientID]
	if hit && !now.Before(e.expires) {
		delete(f.cache, clientID)
		hit = false
	}
	f.mu.Unlock()
	if hit {
		if e.err != nil {
			return Document{}, e.err
		}
		return e.doc.clone(), nil
	}

	ctx, cancel := context.WithTimeout(ctx, FetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, clientID, nil)
	if err != nil {
		return Document{}, fmt.Errorf("%w: %v", ErrNotURLClientID, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "Authbridge (client ID metadata document fetch)")
	resp, err := f.client.Do(req)
	if err != nil {
		return Document{}, fmt.Errorf("%w: %w", ErrHTTPStatus, err)
	}
	defer resp.Body.Close()

	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return Document{}, fmt.Errorf("%w: HTTP %d", ErrRedirect, resp.StatusCode)
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		err := fmt.Errorf("%w: HTTP %d from %s", ErrNotFound, resp.StatusCode, u.Hostname())
		if !noStore(resp.Header) {
			f.store(clientID, cacheEntry{err: err, expires: now.Add(NotFoundCacheLifetime)})
		}
		return Document{}, err
	case resp.StatusCode != http.StatusOK:
		return Document{}, fmt.Errorf("%w: HTTP %d", ErrHTTPStatus, resp.StatusCode)
	}
	if !isJSONContentType(resp.Header.Get("Content-Type")) {
		return Document{}, fmt.Errorf("%w: content type %q", ErrContentType, truncate(resp.Header.Get("Content-Type"), 100))
	}
	if resp.ContentLength > MaxDocumentSize {
		return Document{}, fmt.Errorf("%w: %d bytes, at most %d", ErrTooLarge, resp.ContentLength, MaxDocumentSize)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxDocumentSize+1))
	if err != nil {
		return Document{}, fmt.Errorf("%w: reading the body: %w", ErrHTTPStatus, err)
	}
	if len(body) > MaxDocumentSize {
		return Document{}, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxDocumentSize)
	}

	doc, err := validateDocument(body, clientID, u, f.supported)
	if err != nil {
		return Document{}, err // never cached
	}
	if life := cacheLifetime(resp.Header, now); life > 0 {
		f.store(clientID, cacheEntry{doc: doc.clone(), expires: now.Add(life)})
	}
	return doc, nil
}

func (f *Fetcher) store(clientID string, e cacheEntry) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.cache) >= maxCacheEntries {
		now := f.now()
		for k, v := range f.cache {
			if !now.Before(v.expires) {
				delete(f.cache, k)
			}
		}
		for k := range f.cache { // still full: drop arbitrary entries
			if len(f.cache) < maxCacheEntries {
				break
			}
			delete(f.cache, k)
		}
	}
	f.cache[clientID] = e
}

// dialContext resolves the host, refuses it unless every address is public, and dials the
// checked addresses themselves (never the name again, so a DNS answer that changes between
// check and connect — DNS rebinding — is not followed). The net.Dialer's Control function
// checks the socket address once more right before connect.
func (f *Fetcher) dialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, portStr, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		return nil, fmt.Errorf("clientid: bad port %q", portStr)
	}
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		addrs, err = f.resolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("clientid: resolving %s: %w", host, err)
		}
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("clientid: %s has no addresses", host)
	}
	// A name with any non-public address is refused as a whole: a mixed answer is either a
	// misconfiguration or an attempt to reach an internal address.
	for _, a := range addrs {
		if err := f.checkAddr(netip.AddrPortFrom(a.Unmap(), uint16(port))); err != nil {
			return nil, fmt.Errorf("%w: %s resolves to %s", err, host, a)
		}
	}
	connect := f.connect
	if connect == nil {
		d := &net.Dialer{Timeout: FetchTimeout, Control: f.control}
		connect = d.DialContext
	} else {
		test := connect
		connect = func(ctx context.Context, network, address string) (net.Conn, error) {
			if err := f.control(network, address, nil); err != nil {
				return nil, err
			}
			return test(ctx, network, address)
		}
	}
	var firstErr error
	for i, a := range addrs {
		if i == maxAddrsTried {
			break
		}
		conn, err := connect(ctx, network, netip.AddrPortFrom(a.Unmap(), uint16(port)).String())
		if err == nil {
			return conn, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// control is the net.Dialer Control function: it runs on the socket address about to be
// connected to, after every resolution, so it is the check that cannot be raced.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dialled address %q", ErrAddressNotPublic, address)
	}
	if err := f.checkAddr(ap); err != nil {
		return fmt.Errorf("%w: dialled %s", err, ap.Addr())
	}
	return nil
}

func (f *Fetcher) checkAddr(ap netip.AddrPort) error {
	a := ap.Addr().Unmap()
	if IsPublicAddr(a) || (f.allowAddr != nil && f.allowAddr(a)) || (f.allowAddrPort != nil && f.allowAddrPort(netip.AddrPortFrom(a, ap.Port()))) {
		return nil
	}
	return ErrAddressNotPublic
}

// isJSONContentType accepts application/json and application/<subtype>+json (RFC 6839 §3.1).
func isJSONContentType(v string) bool {
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		return false
	}
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// cacheDirectives returns the Cache-Control directives of h, lowercased names, values unquoted.
func cacheDirectives(h http.Header) map[string]string {
	ds := map[string]string{}
	for _, line := range h.Values("Cache-Control") {
		for _, d := range strings.Split(line, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(d), "=")
			if name = strings.ToLower(strings.TrimSpace(name)); name != "" {
				if _, seen := ds[name]; !seen { // RFC 9111 §4.2.1: the first max-age counts
					ds[name] = strings.Trim(strings.TrimSpace(value), `"`)
				}
			}
		}
	}
	return ds
}

func noStore(h http.Header) bool {
	ds := cacheDirectives(h)
	_, ns := ds["no-store"]
	_, nc := ds["no-cache"]
	return ns || nc
}

// cacheLifetime returns how long a valid document may be served from the cache (RFC 9111
// §4.2.1 freshness lifetime, less the Age header), within [0, MaxCacheLifetime]; 0 means not
// cached.
func cacheLifetime(h http.Header, now time.Time) time.Duration {
	if noStore(h) {
		return 0
	}
	ds := cacheDirectives(h)
	var life time.Duration
	if v, ok := ds["max-age"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return 0 // RFC 9111 §4.2.1: an invalid max-age makes the response stale
		}
		life = time.Duration(min(n, int64(MaxCacheLifetime/time.Second))) * time.Second
	} else if v := h.Get("Expires"); v != "" {
		exp, err := http.ParseTime(v)
		if err != nil {
			return 0 // RFC 9111 §5.3: an invalid Expires means already expired
		}
		base := now
		if d, err := http.ParseTime(h.Get("Date")); err == nil {
			base = d
		}
		life = exp.Sub(base)
	} else {
		life = DefaultCacheLifetime
	}
	if age, err := strconv.ParseInt(h.Get("Age"), 10, 64); err == nil && age > 0 {
		life -= time.Duration(min(age, int64(MaxCacheLifetime/time.Second))) * time.Second
	}
	return max(0, min(life, MaxCacheLifetime))
}
