package tokens

import (
	"bytes"
	"errors"
	"fmt"
	"unicode/utf16"
	"unicode/utf8"
)

// encoding/json alone is too lenient for a security token: it keeps the last of duplicated
// members, matches names case-insensitively ("ISS" would fill iss) and replaces invalid UTF-8.
// It is also slow on this hot path (the authorizer verifies a token per request). The JOSE
// header and the claims set are flat JSON objects, so a small hand-written scanner reads them
// in one pass without reflection: member names match exactly (after unescaping), a repeated
// name is an error, each known member must have its exact JSON type, and unknown members are
// skipped after being checked to be valid JSON (RFC 8259).

// maxDepth bounds the nesting of skipped values; Authbridge's tokens have none.
const maxDepth = 32

// scanner reads one JSON text (RFC 8259) from data. Errors carry positions, never content.
type scanner struct {
	data []byte
	pos  int
}

var (
	errNotObject  = errors.New("not a JSON object")
	errNotString  = errors.New("not a string")
	errNotInteger = errors.New("not a non-negative integer")
	errTooDeep    = errors.New("nesting too deep")
)

func (s *scanner) errorf(format string, args ...any) error {
	return fmt.Errorf("offset %d: "+format, append([]any{s.pos}, args...)...)
}

// ws skips insignificant whitespace (RFC 8259 §2).
func (s *scanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// peek returns the next significant byte, or 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.pos >= len(s.data) {
		return 0
	}
	return s.data[s.pos]
}

// expect consumes c (after whitespace) or fails.
func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		return s.errorf("expected %q", c)
	}
	s.pos++
	return nil
}

// walkObject calls member for each member of the single JSON object in data. member must
// consume exactly one value from s. name is only valid during the call.
func walkObject(data []byte, member func(name []byte, s *scanner) error) error {
	if !utf8.Valid(data) {
		return errors.New("not valid UTF-8")
	}
	s := &scanner{data: data}
	if s.peek() != '{' {
		return errNotObject
	}
	s.pos++
	// Duplicate detection: a linear scan over the names seen is fastest for the dozen
	// members of a token; a map takes over for hostile inputs with many members.
	var small [16][]byte
	seen := small[:0]
	var many map[string]struct{}
	if s.peek() == '}' {
		s.pos++
	} else {
		for {
			name, err := s.readString()
			if err != nil {
				return fmt.Errorf("bad member name: %w", err)
			}
			if many != nil {
				if _, dup := many[string(name)]; dup {
					return fmt.Errorf("duplicate member %q", truncateName(name))
				}
				many[string(name)] = struct{}{}
			} else {
				for _, prev := range seen {
					if bytes.Equal(prev, name) {
						return fmt.Errorf("duplicate member %q", truncateName(name))
					}
				}
				if len(seen) < cap(small) {
					seen = append(seen, name)
				} else {
					many = make(map[string]struct{}, 2*len(seen))
					for _, prev := range seen {
						many[string(prev)] = struct{}{}
					}
					many[string(name)] = struct{}{}
				}
			}
			if err := s.expect(':'); err != nil {
				return err
			}
			if err := member(name, s); err != nil {
				return fmt.Errorf("member %q: %w", truncateName(name), err)
			}
			c := s.peek()
			s.pos++
			if c == '}' {
				break
			}
			if c != ',' {
				s.pos--
				return s.errorf("expected ',' or '}'")
			}
		}
	}
	s.ws()
	if s.pos != len(s.data) {
		return errors.New("data after the JSON object")
	}
	return nil
}

func truncateName(name []byte) string {
	if len(name) > 40 {
		name = name[:40]
	}
	return string(name)
}

// readString reads a JSON string and returns its unescaped bytes: a view of data when the
// string has no escapes, a new slice otherwise. data is known to be valid UTF-8.
func (s *scanner) readString() ([]byte, error) {
	if s.peek() != '"' {
		return nil, errNotString
	}
	s.pos++
	start := s.pos
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			out := s.data[start:s.pos]
			s.pos++
			return out, nil
		case c == '\\':
			return s.readEscapedString(start)
		case c < 0x20: // RFC 8259 §7: control characters must be escaped
			return nil, s.errorf("control character in string")
		}
		s.pos++
	}
	return nil, s.errorf("unterminated string")
}

// readEscapedString continues readString from the first backslash, decoding escapes as
// encoding/json does (RFC 8259 §7; an unpaired surrogate becomes U+FFFD).
func (s *scanner) readEscapedString(start int) ([]byte, error) {
	out := make([]byte, 0, s.pos-start+16)
	out = append(out, s.data[start:s.pos]...)
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return out, nil
		case c < 0x20:
			return nil, s.errorf("control character in string")
		case c != '\\':
			out = append(out, c)
			s.pos++
			continue
		}
		if s.pos+1 >= len(s.data) {
			break
		}
		esc := s.data[s.pos+1]
		s.pos += 2
		switch esc {
		case '"', '\\', '/':
			out = append(out, esc)
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
			r, ok := s.hex4()
			if !ok {
				return nil, s.errorf("bad \\u escape")
			}
			if utf16.IsSurrogate(r) {
				r2 := utf8.RuneError
				save := s.pos
				if s.pos+1 < len(s.data) && s.data[s.pos] == '\\' && s.data[s.pos+1] == 'u' {
					s.pos += 2
					if lo, ok := s.hex4(); ok {
						if dec := utf16.DecodeRune(r, lo); dec != utf8.RuneError {
							r2 = dec
						} else {
							s.pos = save // not a pair: the second escape is read on its own
						}
					} else {
						return nil, s.errorf("bad \\u escape")
					}
				}
				r = r2
			}
			out = utf8.AppendRune(out, r)
		default:
			return nil, s.errorf("bad escape")
		}
	}
	return nil, s.errorf("unterminated string")
}

func (s *scanner) hex4() (rune, bool) {
	if s.pos+4 > len(s.data) {
		return 0, false
	}
	var r rune
	for _, c := range s.data[s.pos : s.pos+4] {
		var v byte
		switch {
		case '0' <= c && c <= '9':
			v = c - '0'
		case 'a' <= c && c <= 'f':
			v = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			v = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(v)
	}
	s.pos += 4
	return r, true
}

// readNumber reads a JSON number (RFC 8259 §6) and reports whether it is a plain integer
// (no fraction, no exponent).
func (s *scanner) readNumber() (text []byte, integer bool, err error) {
	s.ws()
	start := s.pos
	integer = true
	if s.pos < len(s.data) && s.data[s.pos] == '-' {
		s.pos++
	}
	switch {
	case s.pos < len(s.data) && s.data[s.pos] == '0':
		s.pos++
	case s.pos < len(s.data) && '1' <= s.data[s.pos] && s.data[s.pos] <= '9':
		s.digits()
	default:
		return nil, false, s.errorf("bad number")
	}
	if s.pos < len(s.data) && s.data[s.pos] == '.' {
		integer = false
		s.pos++
		if s.digits() == 0 {
			return nil, false, s.errorf("bad number")
		}
	}
	if s.pos < len(s.data) && (s.data[s.pos] == 'e' || s.data[s.pos] == 'E') {
		integer = false
		s.pos++
		if s.pos < len(s.data) && (s.data[s.pos] == '+' || s.data[s.pos] == '-') {
			s.pos++
		}
		if s.digits() == 0 {
			return nil, false, s.errorf("bad number")
		}
	}
	return s.data[start:s.pos], integer, nil
}

func (s *scanner) digits() int {
	n := 0
	for s.pos < len(s.data) && '0' <= s.data[s.pos] && s.data[s.pos] <= '9' {
		s.pos++
		n++
	}
	return n
}

// skipValue checks and skips one JSON value of any type.
func (s *scanner) skipValue(depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	switch c := s.peek(); {
	case c == '"':
		_, err := s.readString()
		return err
	case c == '-' || '0' <= c && c <= '9':
		_, _, err := s.readNumber()
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '[':
		s.pos++
		if s.peek() == ']' {
			s.pos++
			return nil
		}
		for {
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			c := s.peek()
			s.pos++
			if c == ']' {
				return nil
			}
			if c != ',' {
				s.pos--
				return s.errorf("expected ',' or ']'")
			}
		}
	case c == '{':
		s.pos++
		if s.peek() == '}' {
			s.pos++
			return nil
		}
		for {
			if _, err := s.readString(); err != nil {
				return err
			}
			if err := s.expect(':'); err != nil {
				return err
			}
			if err := s.skipValue(depth + 1); err != nil {
				return err
			}
			c := s.peek()
			s.pos++
			if c == '}' {
				return nil
			}
			if c != ',' {
				s.pos--
				return s.errorf("expected ',' or '}'")
			}
		}
	}
	return s.errorf("unexpected character")
}

func (s *scanner) literal(lit string) error {
	if !bytes.HasPrefix(s.data[s.pos:], []byte(lit)) {
		return s.errorf("bad literal")
	}
	s.pos += len(lit)
	return nil
}

// readStringValue reads a JSON string member value as a Go string.
func (s *scanner) readStringValue() (string, error) {
	b, err := s.readString()
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// readNumericDate reads an RFC 7519 NumericDate. Authbridge only issues integral seconds, so
// fractions and exponents are rejected, as are negative values.
func (s *scanner) readNumericDate() (int64, error) {
	if c := s.peek(); c != '-' && (c < '0' || c > '9') {
		return 0, errors.New("not a number")
	}
	text, integer, err := s.readNumber()
	if err != nil {
		return 0, err
	}
	if !integer || text[0] == '-' || len(text) > 18 { // 18 digits cannot overflow int64
		return 0, errNotInteger
	}
	var v int64
	for _, c := range text {
		v = v*10 + int64(c-'0')
	}
	return v, nil
}

// readStringOrArray reads a string or an array of strings (RFC 7519 §4.1.3 aud).
func (s *scanner) readStringOrArray() ([]string, error) {
	switch s.peek() {
	case '"':
		v, err := s.readStringValue()
		if err != nil {
			return nil, err
		}
		return []string{v}, nil
	case '[':
		s.pos++
		out := []string{}
		if s.peek() == ']' {
			s.pos++
			return out, nil
		}
		for {
			v, err := s.readStringValue()
			if err != nil {
				return nil, err
			}
			out = append(out, v)
			c := s.peek()
			s.pos++
			if c == ']' {
				return out, nil
			}
			if c != ',' {
				s.pos--
				return nil, s.errorf("expected ',' or ']'")
			}
		}
	}
	return nil, errors.New("not a string or an array of strings")
}

type joseHeader struct {
	alg, typ, kid string
}

// parseHeader reads the JOSE header (RFC 7515 §4). crit is rejected: Authbridge understands
// no extension, and RFC 7515 §4.1.11 requires rejecting what is not understood.
func parseHeader(data []byte) (joseHeader, error) {
	var h joseHeader
	err := walkObject(data, func(name []byte, s *scanner) (err error) {
		switch string(name) {
		case "alg":
			h.alg, err = s.readStringValue()
		case "typ":
			h.typ, err = s.readStringValue()
		case "kid":
			h.kid, err = s.readStringValue()
		case "crit":
			err = errors.New("critical extensions are not supported")
		default:
			err = s.skipValue(0)
		}
		return err
	})
	return h, err
}

const (
	hasSub = 1 << iota
	hasExp
	hasIat
	hasNbf
	hasJti
	hasClientID
)

type parsedClaims struct {
	AccessClaims
	aud []string
	has int // which of the has* members were present
}

// missing names the first required claim (RFC 9068 §2.2) that is absent or empty, or "".
func (p *parsedClaims) missing() string {
	switch {
	case p.has&hasSub == 0 || p.Subject == "":
		return "sub"
	case p.has&hasExp == 0:
		return "exp"
	case p.has&hasIat == 0:
		return "iat"
	case p.has&hasJti == 0 || p.JTI == "":
		return "jti"
	case p.has&hasClientID == 0 || p.ClientID == "":
		return "client_id"
	}
	return ""
}

func parseClaims(data []byte) (parsedClaims, error) {
	var p parsedClaims
	c := &p.AccessClaims
	err := walkObject(data, func(name []byte, s *scanner) (err error) {
		switch string(name) {
		case "iss":
			c.Issuer, err = s.readStringValue()
		case "sub":
			c.Subject, err = s.readStringValue()
			p.has |= hasSub
		case "aud":
			p.aud, err = s.readStringOrArray()
		case "client_id":
			c.ClientID, err = s.readStringValue()
			p.has |= hasClientID
		case "scope":
			c.Scope, err = s.readStringValue()
		case "exp":
			c.ExpiresAt, err = s.readNumericDate()
			p.has |= hasExp
		case "iat":
			c.IssuedAt, err = s.readNumericDate()
			p.has |= hasIat
		case "nbf":
			c.NotBefore, err = s.readNumericDate()
			p.has |= hasNbf
		case "jti":
			c.JTI, err = s.readStringValue()
			p.has |= hasJti
		case "email":
			c.Email, err = s.readStringValue()
		case "org_id":
			c.OrgID, err = s.readStringValue()
		case "sid":
			c.SessionID, err = s.readStringValue()
		default:
			err = s.skipValue(0)
		}
		return err
	})
	return p, err
}
