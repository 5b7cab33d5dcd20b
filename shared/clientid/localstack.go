//go:build authbridge_localstack

package clientid

import (
	"context"
	"crypto/x509"
	"net/netip"
	"os"
	"strings"
)

// The local stack's settings, compiled only with the build tag authbridge_localstack, which
// infra/local/stack.sh sets and the deployed build never does (infra/templatecheck checks the
// Makefile's build flags and that template.yaml sets none of these variables). Without the
// tag the variables are ignored.
const (
	// EnvLocalRootCA names a PEM file of the CA that signed the local fixture's certificate.
	EnvLocalRootCA = "AUTHBRIDGE_LOCAL_CIMD_ROOT_CA"
	// EnvLocalAllow lists, comma-separated, the loopback ip:port pairs the fixture listens
	// on: only those, so every other loopback port is still refused.
	EnvLocalAllow = "AUTHBRIDGE_LOCAL_CIMD_ALLOW"
	// EnvLocalHosts lists name=address pairs resolved instead of DNS, so the end-to-end tests
	// can point a name at a private, link-local or metadata-service address.
	EnvLocalHosts = "AUTHBRIDGE_LOCAL_CIMD_HOSTS"
)

func localStackOptions() []Option {
	var opts []Option
	if file := os.Getenv(EnvLocalRootCA); file != "" {
		if pem, err := os.ReadFile(file); err == nil {
			pool := x509.NewCertPool()
			if pool.AppendCertsFromPEM(pem) {
				opts = append(opts, WithRootCAs(pool))
			}
		}
	}
	allowed := map[netip.AddrPort]bool{}
	for _, v := range strings.Split(os.Getenv(EnvLocalAllow), ",") {
		if ap, err := netip.ParseAddrPort(strings.TrimSpace(v)); err == nil && ap.Addr().IsLoopback() {
			allowed[ap] = true
		}
	}
	if len(allowed) > 0 {
		opts = append(opts, func(f *Fetcher) { f.allowAddrPort = func(ap netip.AddrPort) bool { return allowed[ap] } })
	}
	hosts := localHosts{}
	for _, v := range strings.Split(os.Getenv(EnvLocalHosts), ",") {
		name, addr, ok := strings.Cut(strings.TrimSpace(v), "=")
		if a, err := netip.ParseAddr(addr); ok && err == nil {
			hosts[strings.ToLower(name)] = a
		}
	}
	if len(hosts) > 0 {
		opts = append(opts, WithResolver(hosts))
	}
	return opts
}

// localHosts answers its names from the map and every other name from DNS.
type localHosts map[string]netip.Addr

func (h localHosts) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if a, ok := h[strings.ToLower(host)]; ok {
		return []netip.Addr{a}, nil
	}
	return defaultResolver.LookupNetIP(ctx, network, host)
}
