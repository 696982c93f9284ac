package kubetest

import "syscall"

// sysProcAttr kills a child when the test binary dies (a panic or a -timeout)
// before its cleanup runs.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
