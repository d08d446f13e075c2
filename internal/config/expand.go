package config

import (
	"fmt"
	"strings"
)

// expandError is an expansion problem at a byte offset inside the value, so
// the caller can turn it into a column.
type expandError struct {
	off int
	msg string
}

func (e *expandError) Error() string { return e.msg }

// expand replaces ${VAR}, ${VAR:-default} and ${VAR:?message} in s with values
// from getenv; `$$` is a literal `$`. A bare `$VAR` is left alone because
// pier.yaml carries shell commands and nginx variables that must stay literal.
// ${VAR} with VAR unset or empty is an error: an empty tag or cluster would
// otherwise surface much later as a confusing AWS error.
func expand(s string, getenv func(string) string) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i += 2
			continue
		case '{':
		default:
			b.WriteByte(c)
			i++
			continue
		}
		end := closingBrace(s, i+2)
		if end < 0 {
			return "", &expandError{i, "unterminated ${: add the closing }"}
		}
		v, err := expandOne(s[i+2:end], i+2, getenv)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
		i = end + 1
	}
	return b.String(), nil
}

// closingBrace finds the } that closes a ${ whose body starts at from,
// allowing nested ${...} in defaults.
func closingBrace(s string, from int) int {
	depth := 0
	for i := from; i < len(s); i++ {
		switch {
		case s[i] == '$' && i+1 < len(s) && s[i+1] == '{':
			depth++
			i++
		case s[i] == '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return -1
}

// expandOne expands the body of one ${...}; off is its offset in the value.
func expandOne(body string, off int, getenv func(string) string) (string, error) {
	n := 0
	for n < len(body) && isNameByte(body[n], n == 0) {
		n++
	}
	name, rest := body[:n], body[n:]
	if name == "" {
		return "", &expandError{off - 2, fmt.Sprintf("invalid variable reference ${%s}: a name is letters, digits and _ and does not start with a digit", body)}
	}
	val := getenv(name)
	switch {
	case rest == "":
		if val == "" {
			return "", &expandError{off - 2, fmt.Sprintf("environment variable %s is not set: set it, or write ${%s:-default} for a fallback", name, name)}
		}
		return val, nil
	case strings.HasPrefix(rest, ":-"):
		if val != "" {
			return val, nil
		}
		def, err := expand(rest[2:], getenv)
		if err != nil {
			if ee, ok := err.(*expandError); ok {
				ee.off += off + n + 2
			}
			return "", err
		}
		return def, nil
	case strings.HasPrefix(rest, ":?"):
		if val != "" {
			return val, nil
		}
		msg := rest[2:]
		if msg == "" {
			msg = "is required"
		}
		return "", &expandError{off - 2, fmt.Sprintf("environment variable %s: %s", name, msg)}
	default:
		return "", &expandError{off - 2, fmt.Sprintf("invalid variable reference ${%s}: pier supports ${VAR}, ${VAR:-default} and ${VAR:?message}", body)}
	}
}

func isNameByte(c byte, first bool) bool {
	switch {
	case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		return true
	case '0' <= c && c <= '9':
		return !first
	}
	return false
}
