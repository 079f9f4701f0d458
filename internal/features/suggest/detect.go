package suggest

import (
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// The question detector: does a Slack message (its raw text) look like a
// question someone wants answered? Pure, no I/O. A question mark ending a
// sentence, or an interrogative start with enough words, makes a question;
// small talk, very short messages, and messages that are mostly code or
// quotes do not. Its precision and recall on the table in detect_test.go
// are in docs/question-detector.md.

var (
	codeBlockRE  = regexp.MustCompile("(?s)```.*?```")
	inlineCodeRE = regexp.MustCompile("`[^`\n]*`")
	slackRefRE   = regexp.MustCompile(`<[^>\n]*>`)       // links, mentions, channels
	emojiRE      = regexp.MustCompile(`:[a-z0-9_+'-]+:`) // :smile:
	urlRE        = regexp.MustCompile(`https?://\S+`)
)

// Detector limits.
const (
	minQuestionWords = 4    // "why?" or "ready?" is not worth a search
	minStartWords    = 6    // an interrogative start without "?" needs this many words
	maxQuestionRunes = 2000 // longer messages are announcements or logs
)

// interrogatives open a question even without a question mark.
var interrogatives = []string{
	"how", "what", "why", "where", "when", "which", "who", "whom", "whose",
	"is", "are", "does", "do", "did", "can", "could", "should", "would", "will", "has", "have",
	"any", "anyone", "anybody", "somebody", "someone", "is there", "are there",
}

// askPhrases ask for help anywhere in the message.
var askPhrases = []string{
	"any idea", "any ideas", "anyone know", "anybody know", "does anyone", "does anybody", "has anyone",
	"can someone", "can anyone", "could someone", "could anyone", "help me understand", "i'm stuck", "im stuck",
	"how do i", "how can i", "how do we", "how can we", "what's the best way", "what is the best way", "is there a way",
}

// smallTalk are questions nobody wants a Stack Overflow answer to.
var smallTalk = []string{
	"how are you", "how's it going", "hows it going", "how was your", "what's up", "whats up", "what's new",
	"who's in", "whos in", "who is in", "anyone up for", "anyone want", "anyone wants", "want to grab", "wanna grab",
	"lunch", "coffee", "beer", "drinks", "happy friday", "happy birthday", "congrats",
	"are you there", "you there", "got a minute", "got a sec", "can we chat", "can we talk", "quick call", "ready for",
	"who's joining", "who is joining", "see you", "is everyone", "can you review", "could you review", "please review",
	"can i get a review", "ptal",
}

// LooksLikeQuestion reports whether text (a message's raw Slack text) looks
// like a question worth searching Stack Overflow for.
func LooksLikeQuestion(text string) bool {
	plain := clean(text)
	if plain == "" || len([]rune(text)) > maxQuestionRunes {
		return false
	}
	lower := strings.ToLower(plain)
	words := wordsOf(lower)
	if len(words) < minQuestionWords || isSmallTalk(lower) {
		return false
	}
	if endsSentenceWithQuestionMark(plain) {
		return true
	}
	for _, p := range askPhrases {
		if containsPhrase(lower, p) {
			return true
		}
	}
	return len(words) >= minStartWords && startsInterrogative(words)
}

// clean drops what is not prose: code, quotes, links, mentions, emoji.
func clean(text string) string { return cleanText(text, false) }

// cleanText is clean; keepInline keeps what inline code says (a search
// wants `terraform plan`, the detector only "code").
func cleanText(text string, keepInline bool) string {
	s := codeBlockRE.ReplaceAllString(text, " ")
	if keepInline {
		s = strings.ReplaceAll(s, "`", " ")
	} else {
		s = inlineCodeRE.ReplaceAllString(s, " code ")
	}
	s = slackRefRE.ReplaceAllString(s, " ")
	s = urlRE.ReplaceAllString(s, " ")
	s = emojiRE.ReplaceAllString(s, " ")
	var lines []string
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "&gt;") || strings.HasPrefix(l, ">") {
			continue // quoted text is someone else's words
		}
		lines = append(lines, l)
	}
	return strings.TrimSpace(strings.Join(strings.Fields(strings.Join(lines, " ")), " "))
}

func wordsOf(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’'
	})
}

func isSmallTalk(lower string) bool {
	for _, p := range smallTalk {
		if containsPhrase(lower, p) {
			return true
		}
	}
	return false
}

// containsPhrase reports whether p occurs in s at word boundaries.
func containsPhrase(s, p string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], p)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isWordByte(s[j-1])
		end := j + len(p)
		after := end == len(s) || !isWordByte(s[end])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '\'' || b >= 0x80
}

// endsSentenceWithQuestionMark: a "?" that ends a sentence (followed by
// the end, a space, or more punctuation), not one inside a word or URL.
func endsSentenceWithQuestionMark(s string) bool {
	for i, r := range s {
		if r != '?' && r != '？' {
			continue
		}
		rest := strings.TrimLeft(s[i+len(string(r)):], "?!)")
		if rest == "" || rest[0] == ' ' {
			return true
		}
	}
	return false
}

func startsInterrogative(words []string) bool {
	first := words[0]
	two := first
	if len(words) > 1 {
		two += " " + words[1]
	}
	for _, w := range interrogatives {
		if w == first || w == two {
			return true
		}
	}
	return false
}

// searchStop are words every question has: left out of the search.
var searchStop = map[string]bool{
	"a": true, "an": true, "the": true, "how": true, "do": true, "does": true, "did": true, "i": true, "we": true,
	"you": true, "is": true, "are": true, "was": true, "to": true, "of": true, "in": true, "on": true, "for": true,
	"what": true, "why": true, "when": true, "where": true, "which": true, "who": true, "can": true, "could": true,
	"should": true, "would": true, "my": true, "our": true, "it": true, "with": true, "and": true, "or": true,
	"there": true, "be": true, "any": true, "anyone": true, "anybody": true, "know": true, "get": true, "me": true,
	"this": true, "that": true, "from": true, "at": true, "by": true, "not": true, "no": true, "so": true, "us": true,
	"someone": true, "hey": true, "hi": true, "hello": true, "folks": true, "all": true, "team": true,
	"quick": true, "question": true, "please": true, "thanks": true, "idea": true, "ideas": true, "has": true, "have": true, "way": true, "best": true, "code": true,
}

// searchTerms is the words of a question worth searching for (at most 8).
func searchTerms(text string) string {
	var out []string
	for _, w := range strings.FieldsFunc(strings.ToLower(cleanText(text, true)), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '.' && r != '#' && r != '+'
	}) {
		w = strings.Trim(w, "-.")
		if w == "" || searchStop[w] || slices.Contains(out, w) {
			continue
		}
		out = append(out, w)
		if len(out) == 8 {
			break
		}
	}
	return strings.Join(out, " ")
}
