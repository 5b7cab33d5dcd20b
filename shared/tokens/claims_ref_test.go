package tokens

import (
	"bytes"
	"errors"
	"io"
	"sync"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// The reference parser: the JOSE header and claims reader that Verify used before the
// hand-written one of claims.go, on the strict decoder of github.com/go-json-experiment/json
// (the design of encoding/json/v2), kept unchanged here so that the differential tests
// (claims_diff_test.go) hold the new parser to exactly its decisions: whatever one refuses,
// the other refuses, and what both accept reads the same claims.

var refDecodeOptions = json.JoinOptions(
	jsontext.AllowDuplicateNames(false),
	jsontext.AllowInvalidUTF8(false),
)

type refClaims struct {
	AccessClaims
	aud []string
	has int
}

func refParseHeader(data []byte) (joseHeader, error) {
	var h joseHeader
	if err := refDecodeObject(data, func(d *jsontext.Decoder) error {
		return refReadMembers(d, func(name []byte) (err error) {
			switch string(name) {
			case "alg":
				h.alg, err = refReadString(d)
			case "typ":
				h.typ, err = refReadString(d)
			case "kid":
				h.kid, err = refReadString(d)
			case "crit":
				err = errCritical
			default:
				err = refSkipUnknown(d)
			}
			return err
		})
	}); err != nil {
		return joseHeader{}, err
	}
	return h, nil
}

func refParseClaims(data []byte) (refClaims, error) {
	var p refClaims
	c := &p.AccessClaims
	if err := refDecodeObject(data, func(d *jsontext.Decoder) error {
		return refReadMembers(d, func(name []byte) (err error) {
			switch string(name) {
			case "iss":
				c.Issuer, err = refReadString(d)
			case "sub":
				c.Subject, err = refReadString(d)
				p.has |= hasSub
			case "aud":
				p.aud, err = refReadAudience(d)
			case "client_id":
				c.ClientID, err = refReadString(d)
				p.has |= hasClientID
			case "scope":
				c.Scope, err = refReadString(d)
			case "exp":
				c.ExpiresAt, err = refReadNumericDate(d)
				p.has |= hasExp
			case "iat":
				c.IssuedAt, err = refReadNumericDate(d)
				p.has |= hasIat
			case "nbf":
				c.NotBefore, err = refReadNumericDate(d)
				p.has |= hasNbf
			case "jti":
				c.JTI, err = refReadString(d)
				p.has |= hasJti
			case "email":
				c.Email, err = refReadString(d)
			case "org_id":
				c.OrgID, err = refReadString(d)
			case "sid":
				c.SessionID, err = refReadString(d)
			case "fam":
				c.FamilyID, err = refReadString(d)
			default:
				err = refSkipUnknown(d)
			}
			return err
		})
	}); err != nil {
		return refClaims{}, err
	}
	return p, nil
}

func refReadMembers(d *jsontext.Decoder, member func(name []byte) error) error {
	if d.PeekKind() != '{' {
		return errNotObject
	}
	if _, err := d.ReadToken(); err != nil {
		return err
	}
	for d.PeekKind() == '"' {
		v, err := d.ReadValue()
		if err != nil {
			return err
		}
		name, err := refUnquote(v)
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

func refReadString(d *jsontext.Decoder) (string, error) {
	v, err := d.ReadValue()
	if err != nil {
		return "", err
	}
	if v.Kind() != '"' {
		return "", errNotString
	}
	s, err := refUnquote(v)
	return string(s), err
}

func refUnquote(v jsontext.Value) ([]byte, error) {
	if bytes.IndexByte(v, '\\') < 0 {
		return v[1 : len(v)-1], nil
	}
	return jsontext.AppendUnquote(nil, v)
}

func refReadNumericDate(d *jsontext.Decoder) (int64, error) {
	v, err := d.ReadValue()
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

func refReadAudience(d *jsontext.Decoder) ([]string, error) {
	switch d.PeekKind() {
	case '"':
		s, err := refReadString(d)
		return []string{s}, err
	case '[':
		if _, err := d.ReadToken(); err != nil {
			return nil, err
		}
		out := []string{}
		for d.PeekKind() != ']' {
			s, err := refReadString(d)
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

func refSkipUnknown(d *jsontext.Decoder) error {
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

var refDecoders = sync.Pool{New: func() any { return new(refDecoder) }}

type refDecoder struct {
	jsontext.Decoder
	in bytes.Buffer
}

func refDecodeObject(data []byte, read func(*jsontext.Decoder) error) error {
	d := refDecoders.Get().(*refDecoder)
	defer refDecoders.Put(d)
	d.in.Reset()
	d.in.Write(data)
	d.Reset(&d.in, refDecodeOptions)
	err := read(&d.Decoder)
	if err == nil {
		if _, err = d.ReadToken(); err == io.EOF {
			return nil
		} else if err == nil {
			err = errTrailingData
		}
	}
	if err == nil {
		return nil
	}
	var syn *jsontext.SyntacticError
	if errors.As(err, &syn) && errors.Is(syn.Err, jsontext.ErrDuplicateName) {
		return errDuplicateName
	}
	return err
}
