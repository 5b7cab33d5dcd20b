package clientid

import (
	"context"
	"net"
	"net/netip"
	"time"
)

// Test-only hooks. This file is compiled only into this package's tests, so the exception
// to the public-address rule cannot be set by any deployed function or configuration.

// WithTestAllowAddr lets the Fetcher dial the addresses allow accepts even if they are not
// public (the fixture server on 127.0.0.1).
func WithTestAllowAddr(allow func(netip.Addr) bool) Option {
	return func(f *Fetcher) { f.allowAddr = allow }
}

// WithTestClock replaces time.Now for the cache.
func WithTestClock(now func() time.Time) Option { return func(f *Fetcher) { f.now = now } }

// WithTestConnect replaces the network connect; the dialled address is still checked first.
func WithTestConnect(connect func(ctx context.Context, network, address string) (net.Conn, error)) Option {
	return func(f *Fetcher) { f.connect = connect }
}

// DialControl is the production net.Dialer Control check of a Fetcher without test options.
func DialControl(network, address string) error {
	return NewFetcher(nil).control(network, address, nil)
}
