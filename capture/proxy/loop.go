package proxy

import (
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
)

// errLoop: the request would come straight back to this proxy.
var errLoop = errors.New("the target is the proxy itself")

// selfGuard refuses upstream connections to the proxy's own listening
// address. It checks the address actually dialled, after name resolution,
// so every name for the proxy (localhost, the host name, an IP) is caught.
type selfGuard struct {
	self atomic.Pointer[guardAddr]
}

type guardAddr struct {
	ip    netip.Addr
	port  int
	local map[netip.Addr]bool // every address of this machine, when listening on all of them
}

func (g *selfGuard) set(a net.Addr) {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return
	}
	ip, _ := netip.AddrFromSlice(tcp.IP)
	ga := &guardAddr{ip: ip.Unmap(), port: tcp.Port}
	if ga.ip.IsUnspecified() || !ga.ip.IsValid() {
		ga.local = map[netip.Addr]bool{}
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if n, ok := a.(*net.IPNet); ok {
					if ip, ok := netip.AddrFromSlice(n.IP); ok {
						ga.local[ip.Unmap()] = true
					}
				}
			}
		}
	}
	g.self.Store(ga)
}

// isSelf reports whether dialling ip:port reaches the proxy.
func (g *selfGuard) isSelf(ip netip.Addr, port int) bool {
	s := g.self.Load()
	if s == nil || port != s.port {
		return false
	}
	ip = ip.Unmap()
	switch {
	case ip == s.ip, ip.IsUnspecified(): // 0.0.0.0 and :: reach local listeners
		return true
	case s.local != nil:
		return ip.IsLoopback() || s.local[ip]
	}
	return false
}

// control is a net.Dialer Control hook: it runs for every address tried.
func (g *selfGuard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil
	}
	if g.isSelf(ap.Addr(), int(ap.Port())) {
		return errLoop
	}
	return nil
}
