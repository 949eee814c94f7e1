package importfile

import (
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// lexer is a minimal JSON reader over one line. encoding/json costs several
// microseconds per usage line and reads numbers through reflection; millions of
// usage lines need a decoder that allocates nothing for plain strings and keeps
// number tokens as their exact text.
type lexer struct {
	b []byte
	i int
}

// maxDepth bounds nesting in skipped values so that hostile input cannot make
// the decoder recurse without limit.
const maxDepth = 64

var errSyntax = errors.New("malformed JSON")

func (l *lexer) ws() {
	for l.i < len(l.b) {
		switch l.b[l.i] {
		case ' ', '\t', '\r', '\n':
			l.i++
		default:
			return
		}
	}
}

func (l *lexer) syntaxError(what string) error {
	if l.i >= len(l.b) {
		return fmt.Errorf("%w: %s at end of line", errSyntax, what)
	}
	return fmt.Errorf("%w: %s at column %d", errSyntax, what, l.i+1)
}

// consume skips whitespace and then c, reporting whether c was there.
func (l *lexer) consume(c byte) bool {
	l.ws()
	if l.i < len(l.b) && l.b[l.i] == c {
		l.i++
		return true
	}
	return false
}

// plainByte marks the bytes that may appear in a string as they are: not the
// quote, the backslash or a control character. One table lookup per byte is the
// cheapest scan for the short strings of a usage line.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 256; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// str reads a string whose opening quote is at l.i. Without escapes it returns a
// slice of the line (no copy); with escapes it returns a newly decoded slice.
func (l *lexer) str() ([]byte, error) {
	l.i++ // opening quote
	start, i, b := l.i, l.i, l.b
	for i < len(b) && plainByte[b[i]] {
		i++
	}
	l.i = i
	switch {
	case i >= len(b):
		return nil, l.syntaxError("unterminated string")
	case b[i] == '"':
		l.i++
		return b[start:i], nil
	case b[i] == '\\':
		return l.escapedStr(start)
	}
	return nil, l.syntaxError("control character in string")
}

func (l *lexer) escapedStr(start int) ([]byte, error) {
	out := make([]byte, 0, l.i-start+16)
	out = append(out, l.b[start:l.i]...)
	for l.i < len(l.b) {
		c := l.b[l.i]
		switch {
		case c == '"':
			l.i++
			return out, nil
		case c < 0x20:
			return nil, l.syntaxError("control character in string")
		case c != '\\':
			out = append(out, c)
			l.i++
			continue
		}
		l.i++
		if l.i >= len(l.b) {
			break
		}
		e := l.b[l.i]
		l.i++
		switch e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'u':
			r, ok := l.hex4()
			if !ok {
				return nil, l.syntaxError(`bad \u escape`)
			}
			if utf16.IsSurrogate(r) {
				// A lone surrogate becomes U+FFFD, as encoding/json does.
				r2 := rune(utf8.RuneError)
				if l.i+1 < len(l.b) && l.b[l.i] == '\\' && l.b[l.i+1] == 'u' {
					save := l.i
					l.i += 2
					if lo, ok := l.hex4(); ok {
						if d := utf16.DecodeRune(r, lo); d != utf8.RuneError {
							r2 = d
						} else {
							l.i = save
						}
					} else {
						l.i = save
					}
				}
				r = r2
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, l.syntaxError("bad escape")
		}
	}
	return nil, l.syntaxError("unterminated string")
}

func (l *lexer) hex4() (rune, bool) {
	if l.i+4 > len(l.b) {
		return 0, false
	}
	var r rune
	for _, c := range l.b[l.i : l.i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	l.i += 4
	return r, true
}

// number reads a JSON number token at l.i and returns its exact text.
func (l *lexer) number() ([]byte, error) {
	start := l.i
	if l.i < len(l.b) && l.b[l.i] == '-' {
		l.i++
	}
	digits := func() int {
		s := l.i
		for l.i < len(l.b) && l.b[l.i] >= '0' && l.b[l.i] <= '9' {
			l.i++
		}
		return l.i - s
	}
	intStart := l.i
	if n := digits(); n == 0 || n > 1 && l.b[intStart] == '0' {
		return nil, l.syntaxError("bad number")
	}
	if l.i < len(l.b) && l.b[l.i] == '.' {
		l.i++
		if digits() == 0 {
			return nil, l.syntaxError("bad number")
		}
	}
	if l.i < len(l.b) && (l.b[l.i] == 'e' || l.b[l.i] == 'E') {
		l.i++
		if l.i < len(l.b) && (l.b[l.i] == '+' || l.b[l.i] == '-') {
			l.i++
		}
		if digits() == 0 {
			return nil, l.syntaxError("bad number")
		}
	}
	return l.b[start:l.i], nil
}

// literal reads true, false or null at l.i.
func (l *lexer) literal() (kind byte, err error) {
	for _, w := range [...]string{"true", "false", "null"} {
		if len(l.b)-l.i >= len(w) && string(l.b[l.i:l.i+len(w)]) == w {
			l.i += len(w)
			return w[0], nil
		}
	}
	return 0, l.syntaxError("unexpected character")
}

// skipValue skips any JSON value at l.i (after whitespace).
func (l *lexer) skipValue(depth int) error {
	if depth > maxDepth {
		return l.syntaxError("nesting too deep")
	}
	l.ws()
	if l.i >= len(l.b) {
		return l.syntaxError("missing value")
	}
	switch c := l.b[l.i]; {
	case c == '"':
		_, err := l.str()
		return err
	case c == '-' || c >= '0' && c <= '9':
		_, err := l.number()
		return err
	case c == '{':
		l.i++
		if l.consume('}') {
			return nil
		}
		for {
			l.ws()
			if l.i >= len(l.b) || l.b[l.i] != '"' {
				return l.syntaxError("expected a key")
			}
			if _, err := l.str(); err != nil {
				return err
			}
			if !l.consume(':') {
				return l.syntaxError("expected ':'")
			}
			if err := l.skipValue(depth + 1); err != nil {
				return err
			}
			if l.consume(',') {
				continue
			}
			if l.consume('}') {
				return nil
			}
			return l.syntaxError("expected ',' or '}'")
		}
	case c == '[':
		l.i++
		if l.consume(']') {
			return nil
		}
		for {
			if err := l.skipValue(depth + 1); err != nil {
				return err
			}
			if l.consume(',') {
				continue
			}
			if l.consume(']') {
				return nil
			}
			return l.syntaxError("expected ',' or ']'")
		}
	default:
		_, err := l.literal()
		return err
	}
}
