package tokens

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The JOSE header and the claims set are read by a small strict JSON reader (jsonReader)
// made for this fixed member set. It makes the decisions of encoding/json/v2's strict
// decoder (github.com/go-json-experiment/json, which Verify used before, kept as the
// reference of the differential tests in claims_diff_test.go): it rejects duplicate member
// names at any depth (after unescaping), invalid UTF-8 and unpaired surrogate escapes,
// malformed JSON and data after the object, and it validates every value it skips. Every
// known member must have its one JSON type: a JSON null is refused, not taken as a zero
// value. Unlike the general decoder it allocates nothing for a token's own members: the
// strings it returns are substrings of its input unless they hold escapes.

// maxDepth bounds the nesting of an unknown member's value; Authbridge's tokens have none.
const maxDepth = 32

// maxDateDigits bounds exp, nbf and iat below 10^18 seconds, far from overflowing int64 in
// time.Unix and the leeway arithmetic.
const maxDateDigits = 18

var (
	errNotObject     = errors.New("not a JSON object")
	errNotString     = errors.New("not a string")
	errNotInteger    = errors.New("not a non-negative integer")
	errNotAudience   = errors.New("not a string or an array of strings")
	errCritical      = errors.New("critical extensions are not supported")
	errTooDeep       = errors.New("nesting too deep")
	errTrailingData  = errors.New("data after the JSON object")
	errDuplicateName = errors.New("duplicate member name")
	errSyntax        = errors.New("invalid JSON")
)

type joseHeader struct {
	alg, typ, kid string
}

// parseHeader reads the JOSE header (RFC 7515 §4).
func parseHeader(data []byte) (joseHeader, error) { return parseHeaderText(string(data)) }

// parseHeaderText is parseHeader on a string; the header's strings are substrings of it.
func parseHeaderText(text string) (joseHeader, error) {
	r := jsonReader{s: text}
	var h joseHeader
	if err := r.document(r.header(&h)); err != nil {
		return joseHeader{}, err
	}
	return h, nil
}

func (r *jsonReader) header(h *joseHeader) error {
	if err := r.openObject(); err != nil {
		return err
	}
	var seen int
	var unknown nameSet
	for first := true; ; first = false {
		name, ok, err := r.member(first)
		if err != nil || !ok {
			return err
		}
		switch name { // exact, case-sensitive (RFC 7515 §4.1, RFC 8259 §8.3)
		case "alg":
			err = r.known(&seen, 1<<0, &h.alg)
		case "typ":
			err = r.known(&seen, 1<<1, &h.typ)
		case "kid":
			err = r.known(&seen, 1<<2, &h.kid)
		case "crit":
			// RFC 7515 §4.1.11: reject a token naming an extension we do not understand;
			// Authbridge understands none (and an empty list is invalid).
			err = errCritical
		default:
			err = r.unknownMember(&unknown, name)
		}
		if err != nil {
			return err
		}
	}
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
	// aud (RFC 7519 §4.1.3) is a string (audOne, with audIsOne set) or an array (audMany):
	// the string form, which Authbridge issues, is kept without allocating a slice.
	audOne   string
	audIsOne bool
	audMany  []string
	has      int // which of the has* members were present
}

// audiences is aud as a list (nil when absent).
func (p *parsedClaims) audiences() []string {
	if p.audIsOne {
		return []string{p.audOne}
	}
	return p.audMany
}

// hasAudience reports whether aud is or contains audience.
func (p *parsedClaims) hasAudience(audience string) bool {
	if p.audIsOne {
		return p.audOne == audience
	}
	return containsString(p.audMany, audience)
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

// parseClaims reads the claims set (RFC 7519 §4); missing reports absent required claims.
func parseClaims(data []byte) (parsedClaims, error) { return parseClaimsText(string(data)) }

// parseClaimsText is parseClaims on a string; the claims' strings are substrings of it.
func parseClaimsText(text string) (parsedClaims, error) {
	r := jsonReader{s: text}
	var p parsedClaims
	if err := r.document(r.claims(&p)); err != nil {
		return parsedClaims{}, err
	}
	return p, nil
}

func (r *jsonReader) claims(p *parsedClaims) error {
	if err := r.openObject(); err != nil {
		return err
	}
	c := &p.AccessClaims
	var seen int
	var unknown nameSet
	for first := true; ; first = false {
		name, ok, err := r.member(first)
		if err != nil || !ok {
			return err
		}
		switch name { // exact, case-sensitive (RFC 7519 §10.1, RFC 8259 §8.3)
		case "iss":
			err = r.known(&seen, 1<<0, &c.Issuer)
		case "sub":
			err = r.known(&seen, 1<<1, &c.Subject)
			p.has |= hasSub
		case "aud":
			err = r.audience(&seen, 1<<2, p)
		case "client_id":
			err = r.known(&seen, 1<<3, &c.ClientID)
			p.has |= hasClientID
		case "scope":
			err = r.known(&seen, 1<<4, &c.Scope)
		case "exp":
			err = r.date(&seen, 1<<5, &c.ExpiresAt)
			p.has |= hasExp
		case "iat":
			err = r.date(&seen, 1<<6, &c.IssuedAt)
			p.has |= hasIat
		case "nbf":
			err = r.date(&seen, 1<<7, &c.NotBefore)
			p.has |= hasNbf
		case "jti":
			err = r.known(&seen, 1<<8, &c.JTI)
			p.has |= hasJti
		case "email":
			err = r.known(&seen, 1<<9, &c.Email)
		case "org_id":
			err = r.known(&seen, 1<<10, &c.OrgID)
		case "sid":
			err = r.known(&seen, 1<<11, &c.SessionID)
		case "fam":
			err = r.known(&seen, 1<<12, &c.FamilyID)
		default:
			err = r.unknownMember(&unknown, name)
		}
		if err != nil {
			return err
		}
	}
}

// jsonReader reads one JSON text (RFC 8259) from s, strictly: RFC 8259 §2 grammar and
// whitespace, RFC 7493 §2.1 (UTF-8 only, no unpaired surrogate) and §2.3 (unique member
// names, compared after unescaping).
type jsonReader struct {
	s string
	i int // next byte to read
}

// document checks that nothing but whitespace follows the object read by err's producer
// (RFC 8259 §2: one JSON text), and formats a failure as its kind and byte offset only:
// errors must not echo token content.
func (r *jsonReader) document(err error) error {
	if err == nil {
		if r.peek(); r.i < len(r.s) {
			err = errTrailingData
		}
	}
	if err != nil {
		return fmt.Errorf("offset %d: %w", r.i, err)
	}
	return nil
}

// peek skips whitespace and returns the next byte, or 0 at the end of the input (a NUL
// byte is no valid token either: callers compare the result with the bytes they expect).
func (r *jsonReader) peek() byte {
	for ; r.i < len(r.s); r.i++ {
		switch c := r.s[r.i]; c {
		case ' ', '\t', '\n', '\r':
		default:
			return c
		}
	}
	return 0
}

// openObject reads the '{' of the header or claims set: RFC 7515 §5.2 step 4 and RFC 7519
// §7.2 step 10 require a JSON object.
func (r *jsonReader) openObject() error {
	if r.peek() != '{' {
		return errNotObject
	}
	r.i++
	return nil
}

// member reads the next member name of the object being read and its ':', after the '{'
// (first) or after the previous member's value; ok is false once the '}' is read.
func (r *jsonReader) member(first bool) (name string, ok bool, err error) {
	c := r.peek()
	switch {
	case c == '}':
		r.i++
		return "", false, nil
	case !first && c == ',':
		r.i++
		c = r.peek()
	case !first:
		return "", false, errSyntax
	}
	if c != '"' {
		return "", false, errSyntax
	}
	if name, err = r.str(); err != nil {
		return "", false, err
	}
	if r.peek() != ':' {
		return "", false, errSyntax
	}
	r.i++
	return name, true, nil
}

// known reads the string value of a known member into dst, once: a second member of that
// name (bit in seen) is a duplicate. Any other JSON type, null included, is refused
// (RFC 7519 §2 StringOrURI).
func (r *jsonReader) known(seen *int, bit int, dst *string) (err error) {
	if *seen&bit != 0 {
		return errDuplicateName
	}
	*seen |= bit
	if r.peek() != '"' {
		return errNotString
	}
	*dst, err = r.str()
	return err
}

// date reads exp, nbf or iat. RFC 7519 §2 NumericDate: Authbridge issues whole seconds since
// the epoch, so only a JSON number made of digits is accepted (no string, sign, fraction or
// exponent), of at most maxDateDigits digits.
func (r *jsonReader) date(seen *int, bit int, dst *int64) error {
	if *seen&bit != 0 {
		return errDuplicateName
	}
	*seen |= bit
	if c := r.peek(); c != '-' && (c < '0' || c > '9') {
		return errNotInteger
	}
	v, err := r.number() // a valid JSON number has no leading zero (RFC 8259 §6)
	if err != nil {
		return err
	}
	if len(v) > maxDateDigits {
		return errNotInteger
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return errNotInteger
		}
		n = n*10 + int64(c-'0')
	}
	*dst = n
	return nil
}

// audience reads aud: RFC 7519 §4.1.3, a string or an array of strings.
func (r *jsonReader) audience(seen *int, bit int, p *parsedClaims) error {
	if *seen&bit != 0 {
		return errDuplicateName
	}
	*seen |= bit
	switch r.peek() {
	case '"':
		s, err := r.str()
		p.audOne, p.audIsOne = s, true
		return err
	case '[':
		r.i++
		p.audMany = []string{}
		if r.peek() == ']' {
			r.i++
			return nil
		}
		for {
			if r.peek() != '"' {
				return errNotString
			}
			s, err := r.str()
			if err != nil {
				return err
			}
			p.audMany = append(p.audMany, s)
			switch r.peek() {
			case ',':
				r.i++
			case ']':
				r.i++
				return nil
			default:
				return errSyntax
			}
		}
	}
	return errNotAudience
}

// unknownMember reads the value of a member Authbridge does not use: ignored (RFC 7515 §4,
// RFC 7519 §4) once read as valid JSON (RFC 8259 §2) nested at most maxDepth deep. Its name
// must differ from the other unknown members' (a known name never equals an unknown one).
func (r *jsonReader) unknownMember(names *nameSet, name string) error {
	if !names.add(name) {
		return errDuplicateName
	}
	return r.skip(0)
}

// skip reads and validates one JSON value at depth containers below the member's value.
// A value (or member name) inside more than maxDepth containers is refused; an empty
// container at that depth holds none and is accepted.
func (r *jsonReader) skip(depth int) error {
	if depth > maxDepth {
		return errTooDeep
	}
	switch c := r.peek(); {
	case c == '"':
		_, err := r.str()
		return err
	case c == '{':
		r.i++
		var names nameSet
		for first := true; ; first = false {
			name, ok, err := r.member(first)
			if err != nil || !ok {
				return err
			}
			if !names.add(name) {
				return errDuplicateName
			}
			if err := r.skip(depth + 1); err != nil {
				return err
			}
		}
	case c == '[':
		r.i++
		if r.peek() == ']' {
			r.i++
			return nil
		}
		for {
			if err := r.skip(depth + 1); err != nil {
				return err
			}
			switch r.peek() {
			case ',':
				r.i++
			case ']':
				r.i++
				return nil
			default:
				return errSyntax
			}
		}
	case c == 't':
		return r.literal("true")
	case c == 'f':
		return r.literal("false")
	case c == 'n':
		return r.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		_, err := r.number()
		return err
	}
	return errSyntax
}

func (r *jsonReader) literal(lit string) error {
	if len(r.s)-r.i < len(lit) || r.s[r.i:r.i+len(lit)] != lit {
		return errSyntax
	}
	r.i += len(lit)
	return nil
}

// number reads a JSON number (RFC 8259 §6): -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
// and returns its text. What follows it is checked by the caller's grammar.
func (r *jsonReader) number() (string, error) {
	s, j := r.s, r.i
	digits := func() bool {
		k := j
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
		}
		return j > k
	}
	if j < len(s) && s[j] == '-' {
		j++
	}
	switch {
	case j < len(s) && s[j] == '0':
		j++
	case !digits():
		r.i = j
		return "", errSyntax
	}
	if j < len(s) && s[j] == '.' {
		j++
		if !digits() {
			r.i = j
			return "", errSyntax
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		j++
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if !digits() {
			r.i = j
			return "", errSyntax
		}
	}
	v := s[r.i:j]
	r.i = j
	return v, nil
}

// str reads the JSON string at r.i (its '"') and returns its value: a substring of the
// input when it has no escape (the common case), else a new string.
func (r *jsonReader) str() (string, error) {
	start := r.i + 1
	end := strings.IndexByte(r.s[start:], '"') // vectorized; an escaped '"' is found below
	if end < 0 {
		end = len(r.s) - start // unterminated: the scan below finds the escape or fails
	}
	v := r.s[start : start+end]
	ascii := true
	for j := 0; j < len(v); j++ {
		if c := v[j]; strSpecial[c] {
			switch {
			case c == '\\':
				return r.unescape(start)
			case c < 0x20: // RFC 8259 §7: control characters must be escaped
				r.i = start + j
				return "", errSyntax
			default:
				ascii = false
			}
		}
	}
	if start+end == len(r.s) {
		r.i = len(r.s)
		return "", errSyntax
	}
	if !ascii && !utf8.ValidString(v) {
		r.i = start
		return "", errSyntax
	}
	r.i = start + end + 1
	return v, nil
}

// strSpecial marks the bytes str must look at: control characters, '\\' and non-ASCII.
var strSpecial = func() (t [256]bool) {
	for c := range 256 {
		t[c] = c < 0x20 || c == '\\' || c >= utf8.RuneSelf
	}
	return t
}()

// unescape is str for a string holding escapes (RFC 8259 §7), from its first byte start.
func (r *jsonReader) unescape(start int) (string, error) {
	s := r.s
	out := make([]byte, 0, len(s)-start)
	for j := start; j < len(s); {
		c := s[j]
		switch {
		case c == '"':
			r.i = j + 1
			return string(out), nil
		case c < 0x20:
			r.i = j
			return "", errSyntax
		case c < utf8.RuneSelf && c != '\\':
			out = append(out, c)
			j++
		case c >= utf8.RuneSelf:
			rn, size := utf8.DecodeRuneInString(s[j:])
			if rn == utf8.RuneError && size == 1 {
				r.i = j
				return "", errSyntax
			}
			out = append(out, s[j:j+size]...)
			j += size
		case j+1 >= len(s):
			r.i = j
			return "", errSyntax
		default: // '\\'
			r.i = j
			switch s[j+1] {
			case '"', '\\', '/':
				out = append(out, s[j+1])
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
				rn, ok := hex4(s, j+2)
				if !ok {
					return "", errSyntax
				}
				if utf16.IsSurrogate(rn) {
					// RFC 7493 §2.1: a high surrogate escape, then a low one; nothing else.
					lo, ok := rune(0), false
					if rn < 0xDC00 && j+12 <= len(s) && s[j+6] == '\\' && s[j+7] == 'u' {
						lo, ok = hex4(s, j+8)
					}
					if !ok || lo < 0xDC00 || lo > 0xDFFF {
						return "", errSyntax
					}
					rn = utf16.DecodeRune(rn, lo)
					j += 6
				}
				out = utf8.AppendRune(out, rn)
				j += 4
			default:
				return "", errSyntax
			}
			j += 2
		}
	}
	r.i = len(s)
	return "", errSyntax
}

// hex4 reads the four hexadecimal digits of a \u escape at s[i:].
func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var v rune
	for _, c := range []byte(s[i : i+4]) {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		v = v<<4 | rune(c)
	}
	return v, true
}

// nameSet holds the names of unknown members of one object, to refuse a repeated one
// (RFC 7493 §2.3). Authbridge's tokens have none, so it allocates only for others; past a
// few names it switches to a map, keeping a hostile header linear.
type nameSet struct {
	list []string
	set  map[string]struct{}
}

const nameSetList = 16

func (n *nameSet) add(name string) bool {
	if n.set == nil {
		for _, x := range n.list {
			if x == name {
				return false
			}
		}
		if len(n.list) < nameSetList {
			n.list = append(n.list, name)
			return true
		}
		n.set = make(map[string]struct{}, 2*nameSetList)
		for _, x := range n.list {
			n.set[x] = struct{}{}
		}
		n.list = nil
	}
	if _, dup := n.set[name]; dup {
		return false
	}
	n.set[name] = struct{}{}
	return true
}
