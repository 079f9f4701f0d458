package pgtest

import "syscall"

// procAttr runs the server as cred (when set), in its own process group, and
// kills it if the test binary dies first.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
