package clientid

import (
	"errors"
	"net/netip"
)

// ErrAddressNotPublic is returned (wrapped) when a client_id's host resolves to an address
// that is not a public unicast address: the fetch would be a server-side request forgery
// (MCP authorization 2026-07-28, Client ID Metadata Documents, security considerations).
var ErrAddressNotPublic = errors.New("clientid: address not public")

// nonPublic are the special-purpose ranges (IANA IPv4/IPv6 Special-Purpose Address
// Registries, RFC 6890 and later) that a metadata fetch must never reach. IPv4-mapped IPv6
// addresses are unmapped before the check, so ::ffff:127.0.0.1 meets 127.0.0.0/8 here.
var nonPublic = func() []netip.Prefix {
	var ps []netip.Prefix
	for _, s := range []string{
		// IPv4
		"0.0.0.0/8",       // "this network" (RFC 791), includes 0.0.0.0
		"10.0.0.0/8",      // private (RFC 1918)
		"100.64.0.0/10",   // shared address space, carrier-grade NAT (RFC 6598)
		"127.0.0.0/8",     // loopback
		"169.254.0.0/16",  // link-local (RFC 3927), includes the metadata service 169.254.169.254
		"172.16.0.0/12",   // private (RFC 1918)
		"192.0.0.0/24",    // IETF protocol assignments (RFC 6890)
		"192.0.2.0/24",    // documentation TEST-NET-1 (RFC 5737)
		"192.88.99.0/24",  // 6to4 relay anycast (RFC 7526)
		"192.168.0.0/16",  // private (RFC 1918)
		"198.18.0.0/15",   // benchmarking (RFC 2544)
		"198.51.100.0/24", // documentation TEST-NET-2 (RFC 5737)
		"203.0.113.0/24",  // documentation TEST-NET-3 (RFC 5737)
		"224.0.0.0/4",     // multicast
		"240.0.0.0/4",     // reserved (RFC 1112), includes broadcast 255.255.255.255
		// IPv6 (anything outside 2000::/3 is refused anyway; listed for the reader)
		"64:ff9b::/96",   // NAT64 well-known prefix (RFC 6052): embeds an IPv4 address
		"64:ff9b:1::/48", // local-use NAT64 (RFC 8215)
		"100::/64",       // discard-only (RFC 6666)
		"2001::/23",      // IETF protocol assignments: Teredo 2001::/32 (embeds IPv4), benchmarking, ORCHID
		"2001:db8::/32",  // documentation (RFC 3849)
		"2002::/16",      // 6to4 (RFC 3056): embeds an IPv4 address
		"3fff::/20",      // documentation (RFC 9637)
		"5f00::/16",      // SRv6 SIDs (RFC 9602)
		"fc00::/7",       // unique local (RFC 4193), includes the AWS metadata service fd00:ec2::254
		"fe80::/10",      // link-local
		"fec0::/10",      // site-local, deprecated (RFC 3879)
		"ff00::/8",       // multicast
		"::/96",          // unspecified, loopback and IPv4-compatible (deprecated) addresses
	} {
		ps = append(ps, netip.MustParsePrefix(s))
	}
	return ps
}()

// globalUnicastV6 is 2000::/3, the only IPv6 block IANA allocates for global unicast: any
// IPv6 address outside it is refused, whatever the table above says.
var globalUnicastV6 = netip.MustParsePrefix("2000::/3")

// IsPublicAddr reports whether a is a public unicast address that a metadata fetch may
// connect to. It refuses loopback, private (RFC 1918, fc00::/7), link-local (169.254/16,
// fe80::/10), unspecified, multicast, CGNAT (100.64/10), documentation, benchmarking and
// reserved ranges, the IPv6 transition prefixes that embed an IPv4 address (NAT64, 6to4,
// Teredo), any address with a zone, and the IPv4-mapped IPv6 form of each refused IPv4
// address (::ffff:10.0.0.1 is 10.0.0.1).
func IsPublicAddr(a netip.Addr) bool {
	if !a.IsValid() || a.Zone() != "" {
		return false
	}
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsUnspecified() || a.IsMulticast() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast() {
		return false
	}
	if a.Is6() && !globalUnicastV6.Contains(a) {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}
