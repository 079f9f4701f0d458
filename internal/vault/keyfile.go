package vault

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// maxKeyFile bounds how much of a key file is read.
const maxKeyFile = 64 << 10

// LoadOrCreateKeyFile loads the keyring from path (one line of
// comma-separated base64 keys, current first) or, if path does not exist,
// creates it with one fresh random key and mode 0600 and returns
// created=true. An existing file readable or writable by group or other is
// refused, as is an existing empty or invalid file: it is never overwritten.
// The directory must exist.
func LoadOrCreateKeyFile(path string) (k *Keyring, created bool, err error) {
	k, err = loadKeyFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if err := createKeyFile(path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it first: use theirs.
			k, err = loadKeyFile(path)
			return k, false, err
		}
		return nil, false, err
	}
	k, err = loadKeyFile(path)
	if err != nil {
		return nil, false, err
	}
	return k, true, nil
}

func loadKeyFile(path string) (*Keyring, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vault: key file %s: %w", path, err)
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("vault: key file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("vault: key file %s: not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("vault: key file %s: mode %04o gives group/other access; run chmod 600 %s", path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("vault: key file %s: %w", path, err)
	}
	defer clear(data)
	if len(data) > maxKeyFile {
		return nil, fmt.Errorf("vault: key file %s: larger than %d bytes", path, maxKeyFile)
	}
	k, err := ParseKeys(string(data))
	if err != nil {
		return nil, fmt.Errorf("vault: key file %s: %w", path, err)
	}
	return k, nil
}

// createKeyFile writes a fresh key to a temporary file and links it into
// place, so path never exists half-written and an existing file is never
// replaced (os.Link fails with fs.ErrExist).
func createKeyFile(path string) (err error) {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(dir); err != nil {
		return fmt.Errorf("vault: key file %s: directory: %w", path, err)
	} else if !fi.IsDir() {
		return fmt.Errorf("vault: key file %s: %s is not a directory", path, dir)
	}

	raw := make([]byte, KeySize)
	defer clear(raw)
	if _, err := rand.Read(raw); err != nil {
		return fmt.Errorf("vault: key file %s: generate key: %w", path, err)
	}
	line := []byte(base64.StdEncoding.EncodeToString(raw) + "\n")
	defer clear(line)

	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("vault: key file %s: %w", path, err)
	}
	tmpName := tmp.Name()
	defer func() { _ = os.Remove(tmpName) }() // the link, if made, keeps the data
	if err := tmp.Chmod(0o600); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("vault: key file %s: %w", path, err)
	}
	if _, err := tmp.Write(line); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("vault: key file %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		_ = tmp.Close()
		return fmt.Errorf("vault: key file %s: fsync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("vault: key file %s: %w", path, err)
	}
	if err := os.Link(tmpName, path); err != nil {
		var le *os.LinkError
		if errors.As(err, &le) && errors.Is(le.Err, fs.ErrExist) {
			return fmt.Errorf("vault: key file %s: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("vault: key file %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}
