package router

import (
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
)

// SplitWord splits "/soe" text into its first word and the rest (trimmed).
func SplitWord(text string) (word, rest string) {
	text = strings.TrimSpace(text)
	i := strings.IndexFunc(text, unicode.IsSpace)
	if i < 0 {
		return text, ""
	}
	return text[:i], strings.TrimSpace(text[i:])
}

// Fields splits s on white space. Double-quoted parts ("two words") stay one
// field; an unterminated quote runs to the end.
func Fields(s string) []string {
	var out []string
	var cur strings.Builder
	inQuote, has := false, false
	for _, r := range s {
		switch {
		case r == '"' || r == '“' || r == '”':
			inQuote = !inQuote
			has = true
		case unicode.IsSpace(r) && !inQuote:
			if has {
				out = append(out, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteRune(r)
			has = true
		}
	}
	if has {
		out = append(out, cur.String())
	}
	return out
}

// ErrBadTeam is returned for a malformed "team <slug>" option.
var ErrBadTeam = errors.New("a team needs a slug, like `team platform`")

// TakeTeam removes a "team <slug>" option (anywhere in args) and returns the
// slug (lower-cased) and the remaining args.
func TakeTeam(args []string) (team string, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		if strings.EqualFold(args[i], "team") {
			if i+1 >= len(args) || !ValidTeamSlug(args[i+1]) {
				return "", args, ErrBadTeam
			}
			if team != "" {
				return "", args, errors.New("give at most one `team <slug>`")
			}
			team = strings.ToLower(args[i+1])
			i++
			continue
		}
		rest = append(rest, args[i])
	}
	return team, rest, nil
}

// TeamOption reports whether args give a `team <…>` option (the word
// team followed by anything): the NamesTeam of most subcommands.
func TeamOption(args []string) bool {
	for i := 0; i+1 < len(args); i++ {
		if strings.EqualFold(args[i], "team") {
			return true
		}
	}
	return false
}

// NoTeamsMessage answers a `team <slug>` option on Stack Overflow for Teams
// Basic/Business, which has no private teams.
func NoTeamsMessage() chat.Message {
	return blockkit.Warning("Private teams (`team <slug>`) are not available on Stack Overflow for Teams Basic/Business: " +
		"everything is in your one team, so leave `team …` out.")
}

// ValidTeamSlug reports whether s looks like an SOE private team slug.
func ValidTeamSlug(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Tag names as SOE allows them.
const (
	MaxTagLen = 35
	// ForbiddenTagChars are the characters SOE does not allow in tag names.
	ForbiddenTagChars = "<>&\"'`()[]{}\\/_=~|^@$%*?!,;:"
)

// NormalizeTag turns what a user typed ([go], #Go, GO) into a tag name.
func NormalizeTag(s string) string {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "#")
	if strings.HasPrefix(s, "[") && strings.HasSuffix(s, "]") {
		s = s[1 : len(s)-1]
	}
	return strings.ToLower(strings.TrimSpace(s))
}

// ValidateTag explains what is wrong with a (normalised) tag name, or "".
func ValidateTag(tag string) string {
	switch {
	case tag == "":
		return "a tag name is empty"
	case len([]rune(tag)) > MaxTagLen:
		return fmt.Sprintf("%s is longer than %d characters", mrkdwn.Code(mrkdwn.Truncate(tag, 40)), MaxTagLen)
	case strings.ContainsAny(tag, ForbiddenTagChars) || strings.ContainsFunc(tag, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Sprintf("%s has characters tags cannot contain", mrkdwn.Code(tag))
	}
	return ""
}
