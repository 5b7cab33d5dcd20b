package main

import "testing"

func TestListenLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "localhost:0", ":0", "[::1]:0"} {
		ln, err := listenLoopback(addr)
		if err != nil {
			if addr == "[::1]:0" { // no IPv6 loopback on this machine
				continue
			}
			t.Errorf("%s: %v", addr, err)
			continue
		}
		ln.Close()
	}
	for _, addr := range []string{"0.0.0.0:0", "192.168.1.10:3000", "example.com:3000", "nonsense"} {
		if ln, err := listenLoopback(addr); err == nil {
			ln.Close()
			t.Errorf("%s was accepted", addr)
		}
	}
}

func TestParamFlag(t *testing.T) {
	p := paramFlag{}
	if err := p.Set("Issuer=http://127.0.0.1:3000/Prod?x=a=b"); err != nil || p["Issuer"] != "http://127.0.0.1:3000/Prod?x=a=b" {
		t.Errorf("%v %v", err, p)
	}
	if err := p.Set("novalue"); err == nil {
		t.Errorf("accepted a parameter without =")
	}
}
