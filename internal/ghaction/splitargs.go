package ghaction

import (
	"errors"
	"strings"
)

// SplitArgs splits the args input into words the way a POSIX shell would for plain
// words: blanks separate, single quotes keep everything literally, double quotes keep
// blanks and honour \" \\ \$ \` escapes, a backslash outside quotes escapes the next
// character. No expansion happens: the workflow has already done its own.
func SplitArgs(s string) ([]string, error) {
	var (
		words   []string
		cur     strings.Builder
		inWord  bool
		rs      = []rune(s)
		closing rune
	)
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		switch {
		case closing == '\'':
			if r == '\'' {
				closing = 0
			} else {
				cur.WriteRune(r)
			}
		case closing == '"':
			switch {
			case r == '"':
				closing = 0
			case r == '\\' && i+1 < len(rs) && strings.ContainsRune("\"\\$`", rs[i+1]):
				i++
				cur.WriteRune(rs[i])
			case r == '\\' && i+1 < len(rs) && rs[i+1] == '\n':
				i++ // line continuation
			default:
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			closing, inWord = r, true
		case r == '\\':
			if i+1 == len(rs) {
				return nil, errors.New("ends with a lone backslash")
			}
			i++
			if rs[i] != '\n' {
				cur.WriteRune(rs[i])
				inWord = true
			}
		case r == ' ' || r == '\t' || r == '\n' || r == '\r':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if closing != 0 {
		return nil, errors.New("has an unterminated " + string(closing) + " quote")
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
