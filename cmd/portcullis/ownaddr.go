package main

import (
	"net"
	"net/netip"
	"slices"
)

// boundListeners are the addresses the gateway and ops listeners hold. A
// reload cannot move them, so its upstreams are checked against these as
// well as against the file's (upstreamsAtListeners), and the upstream
// dialler refuses to connect to them (proxy.Config.OwnListener): a name in
// the file that resolves to this host reaches them too.
type boundListeners struct {
	listen, ops string           // as bound ("" = the ops listener is off)
	addrs       []netip.AddrPort // both, parsed
	// local are this host's interface addresses when the listeners were
	// bound: a listener on the unspecified address answers on each.
	local []netip.Addr
}

func newBoundListeners(gw, ops net.Listener) *boundListeners {
	b := &boundListeners{listen: gw.Addr().String()}
	for _, ln := range []net.Listener{gw, ops} {
		if ln == nil {
			continue
		}
		if ap, err := netip.ParseAddrPort(ln.Addr().String()); err == nil {
			b.addrs = append(b.addrs, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()))
		}
	}
	if ops != nil {
		b.ops = ops.Addr().String()
	}
	ifaces, _ := net.InterfaceAddrs() // none: loopback and the bound addresses still count
	for _, a := range ifaces {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			b.local = append(b.local, p.Addr().Unmap())
		}
	}
	return b
}

// has reports whether a connection to ap reaches one of the listeners.
func (b *boundListeners) has(ap netip.AddrPort) bool {
	ip := ap.Addr().Unmap()
	for _, l := range b.addrs {
		if l.Port() != ap.Port() {
			continue
		}
		switch la := l.Addr(); {
		case ip == la:
			return true
		case la.IsUnspecified() && (ip.IsLoopback() || ip.IsUnspecified() || slices.Contains(b.local, ip)):
			return true
		case la.IsLoopback() && ip.IsUnspecified(): // 0.0.0.0 is dialled as loopback
			return true
		}
	}
	return false
}

// ownListener is proxy.Config.OwnListener: false until the listeners are
// bound, as no upstream is dialled before.
func (g *gateway) ownListener(ap netip.AddrPort) bool {
	b := g.bound.Load()
	return b != nil && b.has(ap)
}
