package mrkdwn

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// checkSafe returns an error if s breaks the package invariant: every '<'
// starts an http(s)/mailto link whose URL has no '<', '|' separator aside,
// whitespace, and whose label has no '<' or '>'; no "<!", "<@", "<#"; no
// sentinel runes; valid UTF-8.
func checkSafe(s string) error {
	if !utf8.ValidString(s) {
		return fmt.Errorf("invalid UTF-8 in %q", s)
	}
	if strings.ContainsAny(s, string([]rune{linkOpen, linkSep, linkClose})) {
		return fmt.Errorf("sentinel rune leaked in %q", s)
	}
	for _, bad := range []string{"<!", "<@", "<#"} {
		if strings.Contains(s, bad) {
			return fmt.Errorf("%q found in %q", bad, s)
		}
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '<' {
			continue
		}
		rest := s[i:]
		if !strings.HasPrefix(rest, "<http://") && !strings.HasPrefix(rest, "<https://") &&
			!strings.HasPrefix(rest, "<mailto:") {
			return fmt.Errorf("unexpected '<' at %d: %q", i, clip(rest))
		}
		end := strings.IndexByte(rest, '>')
		if end < 0 {
			return fmt.Errorf("unterminated link at %d: %q", i, clip(rest))
		}
		link := rest[1:end]
		if strings.ContainsRune(link, '<') {
			return fmt.Errorf("'<' inside link at %d: %q", i, clip(rest))
		}
		u, _, _ := strings.Cut(link, "|")
		if strings.ContainsAny(u, " \t\n\r") {
			return fmt.Errorf("whitespace in link URL at %d: %q", i, clip(rest))
		}
		i += end
	}
	return nil
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}
