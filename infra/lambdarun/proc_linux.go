package lambdarun

import "syscall"

// sysProcAttr puts the RIE in its own process group (so that Close can signal it and
// what it started) and has the kernel stop it if this process dies.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
