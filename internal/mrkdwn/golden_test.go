package mrkdwn

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/soebot/soebot/internal/golden"
)

// goldenExcerptLen is the Excerpt length used for the *.excerpt.txt files.
const goldenExcerptLen = 160

// baseRE finds the optional base URL of a golden input: a leading
// <!-- base: URL --> comment (which the converter itself ignores).
var baseRE = regexp.MustCompile(`^<!-- base: (\S+) -->`)

// TestGolden renders every testdata/golden/NAME.html with FromHTMLBase into
// NAME.txt and with Excerpt into NAME.excerpt.txt. Run with -update to
// regenerate them, then review the diff.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*.html"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".html")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			base := ""
			if m := baseRE.FindSubmatch(src); m != nil {
				base = string(m[1])
			}
			full := FromHTMLBase(string(src), base)
			if err := checkSafe(full); err != nil {
				t.Errorf("FromHTMLBase: %v", err)
			}
			exc := Excerpt(string(src), goldenExcerptLen)
			if err := checkSafe(exc); err != nil {
				t.Errorf("Excerpt: %v", err)
			}
			if n := utf8.RuneCountInString(exc); n > goldenExcerptLen {
				t.Errorf("Excerpt has %d runes, want <= %d", n, goldenExcerptLen)
			}
			compareGolden(t, strings.TrimSuffix(in, ".html")+".txt", full+"\n")
			compareGolden(t, strings.TrimSuffix(in, ".html")+".excerpt.txt", exc+"\n")
		})
	}
}

func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	golden.Assert(t, path, []byte(got))
}
