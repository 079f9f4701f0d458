//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package store

import "os"

// unlockFile is a no-op where bbolt does not use flock(2); closing the file
// releases its lock.
func unlockFile(*os.File) error { return nil }
