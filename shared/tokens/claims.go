package tokens

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The JOSE header and the claims set are read with the strict JSON decoder of
// github.com/go-json-experiment/json (the design of encoding/json/v2): it rejects duplicate
// member names, invalid UTF-8, malformed JSON and data after the object, and it validates
// every value it is asked to skip. The members are read token by token, so that member names
// match exactly (after unescaping) and every known member has its one JSON type, which the
// checks below enforce: decoding into Go structs would take a JSON null as a zero value.

// decodeOptions spells out the decoder defaults these checks rely on.
var decodeOptions = json.JoinOptions(
	jsontext.AllowDuplicateNames(false), // RFC 7515 §4, RFC 7519 §4: member names are unique
	jsontext.AllowInvalidUTF8(false),    // RFC 7515 §5.2 step 4, RFC 8259 §8.1: UTF-8 only
)

// maxDepth bounds the nesting of an unknown member's value; Authbridge's tokens have none.
const maxDepth = 32

// maxDateDigits bounds exp, nbf and iat below 10^18 seconds, far from overflowing int64 in
// time.Unix and the leeway arithmetic.
const maxDateDigits = 18

var (
	errNotObject    = errors.New("not a JSON object")
	errNotString    = errors.New("not a string")
	errNotInteger   = errors.New("not a non-negative integer")
	errNotAudience  = errors.New("not a string or an array of strings")
	errCritical     = errors.New("critical extensions are not supported")
	errTooDeep      = errors.New("nesting too deep")
	errTrailingData = errors.New("data after the JSON object")
)

type joseHeader struct {
	alg, typ, kid string
}

// parseHeader reads the JOSE header (RFC 7515 §4).
func parseHeader(data []byte) (joseHeader, error) {
	var h joseHeader
	if err := decodeObject(data, h.read); err != nil {
		return joseHeader{}, err
	}
	return h, nil
}

func (h *joseHeader) read(d *jsontext.Decoder) error {
	return readMembers(d, func(name []byte) (err error) {
		switch string(name) { // exact, case-sensitive (RFC 7515 §4.1, RFC 8259 §8.3)
		case "alg":
			h.alg, err = readString(d)
		case "typ":
			h.typ, err = readString(d)
		case "kid":
			h.kid, err = readString(d)
		case "crit":
			// RFC 7515 §4.1.11: reject a token naming an extension we do not understand;
			// Authbridge understands none (and an empty list is invalid).
			err = errCritical
		default:
			err = skipUnknown(d)
		}
		return err
	})
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

// parseClaims reads the claims set (RFC 7519 §4); missing reports absent required claims.
func parseClaims(data []byte) (parsedClaims, error) {
	var p parsedClaims
	if err := decodeObject(data, p.read); err != nil {
		return parsedClaims{}, err
	}
	return p, nil
}

func (p *parsedClaims) read(d *jsontext.Decoder) error {
	c := &p.AccessClaims
	return readMembers(d, func(name []byte) (err error) {
		switch string(name) { // exact, case-sensitive (RFC 7519 §10.1, RFC 8259 §8.3)
		case "iss":
			c.Issuer, err = readString(d)
		case "sub":
			c.Subject, err = readString(d)
			p.has |= hasSub
		case "aud":
			p.aud, err = readAudience(d)
		case "client_id":
			c.ClientID, err = readString(d)
			p.has |= hasClientID
		case "scope":
			c.Scope, err = readString(d)
		case "exp":
			c.ExpiresAt, err = readNumericDate(d)
			p.has |= hasExp
		case "iat":
			c.IssuedAt, err = readNumericDate(d)
			p.has |= hasIat
		case "nbf":
			c.NotBefore, err = readNumericDate(d)
			p.has |= hasNbf
		case "jti":
			c.JTI, err = readString(d)
			p.has |= hasJti
		case "email":
			c.Email, err = readString(d)
		case "org_id":
			c.OrgID, err = readString(d)
		case "sid":
			c.SessionID, err = readString(d)
		case "fam":
			c.FamilyID, err = readString(d)
		default:
			err = skipUnknown(d)
		}
		return err
	})
}

// readMembers reads one JSON object, calling member with each member's name; member must
// read exactly that member's value.
func readMembers(d *jsontext.Decoder, member func(name []byte) error) error {
	if err := openObject(d); err != nil {
		return err
	}
	for d.PeekKind() == '"' {
		name, err := readName(d)
		if err != nil {
			return err
		}
		if err := member(name); err != nil {
			return err
		}
	}
	_, err := d.ReadToken() // '}'
	return err
}

// openObject reads the '{' of the header or claims set: RFC 7515 §5.2 step 4 and RFC 7519
// §7.2 step 10 require a JSON object.
func openObject(d *jsontext.Decoder) error {
	if d.PeekKind() != '{' {
		return errNotObject
	}
	_, err := d.ReadToken()
	return err
}

// readName reads a member name; the decoder fails on a repeated one (after unescaping).
func readName(d *jsontext.Decoder) ([]byte, error) {
	v, err := d.ReadValue()
	if err != nil {
		return nil, err
	}
	return unquote(v)
}

// readString reads a JSON string and nothing else, not null (RFC 7519 §2 StringOrURI).
func readString(d *jsontext.Decoder) (string, error) {
	v, err := d.ReadValue()
	if err != nil {
		return "", err
	}
	if v.Kind() != '"' {
		return "", errNotString
	}
	s, err := unquote(v)
	return string(s), err
}

// unquote returns the contents of the JSON string v, which the decoder has validated: a view
// of v when it has no escape (the common case), else a new slice.
func unquote(v jsontext.Value) ([]byte, error) {
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	return jsontext.AppendUnquote(nil, v)
}

// readNumericDate reads exp, nbf or iat. RFC 7519 §2 NumericDate: Authbridge issues whole
// seconds since the epoch, so only a JSON number made of digits is accepted (no string, sign,
// fraction or exponent), of at most maxDateDigits digits.
func readNumericDate(d *jsontext.Decoder) (int64, error) {
	v, err := d.ReadValue() // a valid JSON value: a number has no leading zero (RFC 8259 §6)
	if err != nil {
		return 0, err
	}
	if len(v) > maxDateDigits {
		return 0, errNotInteger
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return 0, errNotInteger
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// readAudience reads aud: RFC 7519 §4.1.3, a string or an array of strings.
func readAudience(d *jsontext.Decoder) ([]string, error) {
	switch d.PeekKind() {
	case '"':
		s, err := readString(d)
		return []string{s}, err
	case '[':
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		out := []string{}
		for d.PeekKind() != ']' {
			s, err := readString(d)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		_, err := d.ReadToken()
		return out, err
	}
	return nil, errNotAudience
}

// skipUnknown reads the value of a member Authbridge does not use: ignored (RFC 7515 §4,
// RFC 7519 §4) once read as valid JSON (RFC 8259 §2) nested at most maxDepth deep.
func skipUnknown(d *jsontext.Decoder) error {
	base := d.StackDepth()
	for {
		if k := d.PeekKind(); k != ']' && k != '}' && d.StackDepth()-base > maxDepth {
			return errTooDeep
		}
		if _, err := d.ReadToken(); err != nil {
			return err
		}
		if d.StackDepth() == base {
			return nil
		}
	}
}

// decoders recycles decoders with their buffers and name tables: the authorizer verifies a
// token per request.
var decoders = sync.Pool{New: func() any { return new(decoder) }}

type decoder struct {
	jsontext.Decoder
	in bytes.Buffer
}

// decodeObject runs read, which reads one JSON object, on a decoder over data and checks
// that nothing follows it (RFC 8259 §2: one JSON text).
func decodeObject(data []byte, read func(*jsontext.Decoder) error) error {
	d := decoders.Get().(*decoder)
	defer decoders.Put(d)
	d.in.Reset()
	d.in.Write(data)
	d.Reset(&d.in, decodeOptions)
	err := read(&d.Decoder)
	if err == nil {
		if _, err = d.ReadToken(); err == io.EOF {
			return nil
		} else if err == nil {
			err = errTrailingData
		}
	}
	return decodeError(err, d.InputOffset())
}

// decodeError keeps only the kind of a decoder error and its byte offset: the library's
// messages quote member names and values, and errors must not echo token content.
func decodeError(err error, offset int64) error {
	var syn *jsontext.SyntacticError
	switch {
	case errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName):
		return fmt.Errorf("offset %d: duplicate member name", syn.ByteOffset)
	case errors.As(err, &syn):
		return fmt.Errorf("offset %d: invalid JSON", syn.ByteOffset)
	}
	for _, own := range []error{errNotObject, errNotString, errNotInteger, errNotAudience, errCritical, errTooDeep, errTrailingData} {
		if errors.Is(err, own) {
			return fmt.Errorf("offset %d: %w", offset, own)
		}
	}
	return fmt.Errorf("offset %d: invalid JSON", offset) // e.g. io.ErrUnexpectedEOF
}
