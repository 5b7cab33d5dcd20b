package tokens

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// encoding/json alone is too lenient for a security token: it keeps the last of duplicated
// members, matches names case-insensitively ("ISS" would fill iss) and replaces invalid UTF-8.
// These helpers walk the top-level object token by token instead: member names match exactly,
// a repeated name is an error, each known member must have its exact JSON type, and unknown
// members are skipped (they must still be valid JSON).

// walkObject calls member for each member of the single JSON object in data. member must
// consume exactly one value from dec.
func walkObject(data []byte, member func(name string, dec *json.Decoder) error) error {
	if !utf8.Valid(data) {
		return errors.New("not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	seen := make(map[string]struct{}, 16)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		name, ok := tok.(string)
		if !ok {
			return errors.New("bad member name")
		}
		if _, dup := seen[name]; dup {
			return fmt.Errorf("duplicate member %q", name)
		}
		seen[name] = struct{}{}
		if err := member(name, dec); err != nil {
			return fmt.Errorf("member %q: %w", name, err)
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return errors.New("unterminated object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("data after the JSON object")
	}
	return nil
}

func skipValue(dec *json.Decoder) error {
	var raw json.RawMessage
	return dec.Decode(&raw)
}

func readString(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	s, ok := tok.(string)
	if !ok {
		return "", errors.New("not a string")
	}
	return s, nil
}

// readNumericDate reads an RFC 7519 NumericDate. Authbridge only issues integral seconds, so
// fractions and exponents are rejected.
func readNumericDate(dec *json.Decoder) (int64, error) {
	tok, err := dec.Token()
	if err != nil {
		return 0, err
	}
	n, ok := tok.(json.Number)
	if !ok {
		return 0, errors.New("not a number")
	}
	v, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || v < 0 {
		return 0, errors.New("not a non-negative integer")
	}
	return v, nil
}

// readStringOrArray reads a string or an array of strings (RFC 7519 §4.1.3 aud).
func readStringOrArray(dec *json.Decoder) ([]string, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case string:
		return []string{t}, nil
	case json.Delim:
		if t != '[' {
			break
		}
		var out []string
		for dec.More() {
			s, err := readString(dec)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		if end, err := dec.Token(); err != nil || end != json.Delim(']') {
			return nil, errors.New("unterminated array")
		}
		return out, nil
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
	err := walkObject(data, func(name string, dec *json.Decoder) (err error) {
		switch name {
		case "alg":
			h.alg, err = readString(dec)
		case "typ":
			h.typ, err = readString(dec)
		case "kid":
			h.kid, err = readString(dec)
		case "crit":
			err = errors.New("critical extensions are not supported")
		default:
			err = skipValue(dec)
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
	err := walkObject(data, func(name string, dec *json.Decoder) (err error) {
		switch name {
		case "iss":
			c.Issuer, err = readString(dec)
		case "sub":
			c.Subject, err = readString(dec)
			p.has |= hasSub
		case "aud":
			p.aud, err = readStringOrArray(dec)
		case "client_id":
			c.ClientID, err = readString(dec)
			p.has |= hasClientID
		case "scope":
			c.Scope, err = readString(dec)
		case "exp":
			c.ExpiresAt, err = readNumericDate(dec)
			p.has |= hasExp
		case "iat":
			c.IssuedAt, err = readNumericDate(dec)
			p.has |= hasIat
		case "nbf":
			c.NotBefore, err = readNumericDate(dec)
			p.has |= hasNbf
		case "jti":
			c.JTI, err = readString(dec)
			p.has |= hasJti
		case "email":
			c.Email, err = readString(dec)
		case "org_id":
			c.OrgID, err = readString(dec)
		case "sid":
			c.SessionID, err = readString(dec)
		default:
			err = skipValue(dec)
		}
		return err
	})
	return p, err
}
