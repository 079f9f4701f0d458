// Package reference finds the project's reference documents (the SOE OpenAPI
// document, Slack's manifest schema) that live in ../shared beside the module.
package reference

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ErrNotFound means the shared folder could not be located.
var ErrNotFound = errors.New("reference documents not found")

// ModuleRoot walks up from the working directory to the folder holding go.mod.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory: %w", ErrNotFound)
		}
		dir = parent
	}
}

// Path returns the path of rel (e.g. "soe-v3/openapi.json") inside the shared
// folder: $SOEBOT_SHARED if set, else ../shared next to the module root.
func Path(rel string) (string, error) {
	base := os.Getenv("SOEBOT_SHARED")
	if base == "" {
		root, err := ModuleRoot()
		if err != nil {
			return "", err
		}
		base = filepath.Join(root, "..", "shared")
	}
	p := filepath.Join(base, rel)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("%s: %w", p, ErrNotFound)
	}
	return p, nil
}

// Required reports whether missing reference documents must fail tests
// rather than skip them: always in CI.
func Required() bool { return os.Getenv("CI") != "" }
