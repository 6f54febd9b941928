package main

import (
	"net"
	"net/netip"
	"testing"
)

// TestBoundListenersHas: the upstream dialler's view of the gateway's own
// listeners: a listener on every address answers on loopback, the
// unspecified address and this host's interface addresses; one on an
// address answers there only (0.0.0.0, dialled as loopback, on loopback).
func TestBoundListenersHas(t *testing.T) {
	gw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Close()
	ops, err := net.Listen("tcp", ":0") // every address
	if err != nil {
		t.Fatal(err)
	}
	defer ops.Close()
	b := newBoundListeners(gw, ops)
	gp := netip.MustParseAddrPort(gw.Addr().String()).Port()
	op := netip.MustParseAddrPort(ops.Addr().String()).Port()
	other := gp + 1
	for other == op || other == 0 {
		other++
	}
	at := func(ip string, port uint16) netip.AddrPort { return netip.AddrPortFrom(netip.MustParseAddr(ip), port) }
	for _, tc := range []struct {
		ap   netip.AddrPort
		want bool
	}{
		{at("127.0.0.1", gp), true},
		{at("::ffff:127.0.0.1", gp), true},
		{at("0.0.0.0", gp), true},
		{at("127.0.0.2", gp), false}, // the gateway listens on 127.0.0.1 only
		{at("::1", gp), false},
		{at("127.0.0.1", other), false},
		{at("127.0.0.9", op), true},
		{at("::1", op), true},
		{at("::", op), true},
		{at("192.0.2.1", op), false}, // TEST-NET-1: not this host's
	} {
		if got := b.has(tc.ap); got != tc.want {
			t.Errorf("has(%v) = %v, want %v", tc.ap, got, tc.want)
		}
	}
	for _, ip := range b.local {
		if !b.has(netip.AddrPortFrom(ip, op)) {
			t.Errorf("has(%v) = false: a listener on every address answers on this host's %v", netip.AddrPortFrom(ip, op), ip)
		}
	}
}
