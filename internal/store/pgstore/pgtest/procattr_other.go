//go:build unix && !linux

package pgtest

import "syscall"

// procAttr runs the server as cred (when set) in its own process group.
func procAttr(cred *syscall.Credential) *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Credential: cred, Setpgid: true}
}
