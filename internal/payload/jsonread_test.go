package payload

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The reader's strings are encoding/json's, with every special character
// at every position of the word-at-a-time scan.
func TestReaderStringMatchesEncodingJSON(t *testing.T) {
	specials := []string{`\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u0000`, `\u00e9`, `\uD83D\uDE00`, `\ud800`, `\udc00x`,
		"é", "😀", "\u2028", "\xff", "\xc3", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\x7f"}
	for _, sp := range specials {
		for pos := range 20 {
			for _, tail := range []int{0, 1, 7, 8, 9, 17} {
				lit := `"` + strings.Repeat("a", pos) + sp + strings.Repeat("b", tail) + `"`
				var want string
				require.NoError(t, json.Unmarshal([]byte(lit), &want), lit)
				r := reader{s: lit + ","}
				got, err := r.str()
				require.NoError(t, err, lit)
				assert.Equal(t, want, got, lit)
				assert.Equal(t, len(lit), r.i, "%s: position after the string", lit)
			}
		}
	}
}

func TestReaderStringErrors(t *testing.T) {
	for lit, want := range map[string]string{
		`"abc`:                           "unterminated string at offset 4",
		`"abcdefghijklmnop`:              "unterminated string at offset 17",
		`"abc\`:                          "unterminated string at offset 5",
		`"abc\u12`:                       `invalid \u escape at offset 4`,
		`"abc\u12g4"`:                    `invalid \u escape at offset 4`,
		`"abc\q"`:                        `invalid escape "\\q" at offset 4`,
		"\"abcdefghijklmnop\x01\"":       "control character in string at offset 17",
		"\"abcdefghijklmnop\\n\x1f\"":    "control character in string at offset 19",
		"\"\xffabcdefghijklmnop\\\"\t\"": "control character in string at offset 20",
	} {
		r := reader{s: lit}
		_, err := r.str()
		assert.EqualError(t, err, want, "%q", lit)
	}
}

func TestScanNumber(t *testing.T) {
	for lit, isInt := range map[string]bool{"0": true, "-0": true, "12": true, "-12": true, "1.5": false, "1e5": false, "1E+5": false, "-0.0e-0": false} {
		end, gotInt, ok := scanNumber(lit+",", 0)
		assert.True(t, ok, lit)
		assert.Equal(t, len(lit), end, lit)
		assert.Equal(t, isInt, gotInt, lit)
	}
	for _, lit := range []string{"", "-", "+1", ".5", "1.", "1.e5", "1e", "1e+", "-a"} {
		_, _, ok := scanNumber(lit, 0)
		assert.False(t, ok, lit)
	}
	// A leading zero ends the number: what follows is for the caller to reject.
	end, _, ok := scanNumber("01", 0)
	assert.True(t, ok)
	assert.Equal(t, 1, end)
}
