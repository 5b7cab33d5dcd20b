package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// maxBody bounds what doctor reads of any answer.
const maxBody = 1 << 20

// answer is one HTTP exchange as doctor saw it.
type answer struct {
	Method, URL string
	Status      int
	Header      http.Header
	Body        []byte
	Err         error
}

// String is the answer in a few words: "200", "404 Not Found", "error: …".
func (a answer) String() string {
	if a.Err != nil {
		return "no answer (" + a.Err.Error() + ")"
	}
	s := fmt.Sprintf("%d", a.Status)
	if a.Status >= 400 {
		if m := gatewayMessage(a.Body); m != "" {
			s += fmt.Sprintf(" %q", m)
		}
	}
	return s
}

// gatewayMessage is API Gateway's {"message": …} or an OAuth error code, for the reasons.
func gatewayMessage(body []byte) string {
	var m struct {
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	if m.Message != "" {
		return m.Message
	}
	return m.Error
}

// jsonObject decodes the body as a JSON object; nil when it is not one.
func (a answer) jsonObject() map[string]any {
	if a.Err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(a.Body, &m) != nil {
		return nil
	}
	return m
}

type request struct {
	method, url, body string
	header            []string // name, value pairs
}

func (r request) key() string {
	return r.method + " " + r.url + "\n" + strings.Join(r.header, "\n") + "\n" + r.body
}

// fetch sends r once per run (answers are cached: every client reads the same documents)
// without following redirects.
func (d *doctor) fetch(ctx context.Context, r request) answer {
	if a, ok := d.cache[r.key()]; ok {
		return a
	}
	a := answer{Method: r.method, URL: r.url}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, strings.NewReader(r.body))
	if err != nil {
		a.Err = err
		return a
	}
	if r.body == "" {
		req.Body = http.NoBody
	}
	for i := 0; i+1 < len(r.header); i += 2 {
		req.Header.Set(r.header[i], r.header[i+1])
	}
	req.Header.Set("User-Agent", "authbridge-doctor/1")
	resp, err := d.http.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		a.Err = err
	} else {
		a.Status, a.Header = resp.StatusCode, resp.Header
		a.Body, a.Err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
		resp.Body.Close()
	}
	d.cache[r.key()] = a
	return a
}

func (d *doctor) get(ctx context.Context, u string, header ...string) answer {
	return d.fetch(ctx, request{method: http.MethodGet, url: u, header: header})
}

// parseChallenges returns the auth-params of the first challenge of scheme in a
// WWW-Authenticate value (RFC 9110 §11.6.1): name=token or name="quoted string".
func parseChallenges(values []string, scheme string) (map[string]string, bool) {
	for _, v := range values {
		s := v
		for s != "" {
			s = strings.TrimLeft(s, " ,")
			name, rest := cutToken(s)
			if name == "" {
				break
			}
			params := map[string]string{}
			s = rest
			// auth-params until the next scheme (a token not followed by '=').
			for {
				s = strings.TrimLeft(s, " ,")
				k, after := cutToken(s)
				after = strings.TrimLeft(after, " ")
				if k == "" || !strings.HasPrefix(after, "=") {
					break
				}
				after = strings.TrimLeft(after[1:], " ")
				var val string
				if strings.HasPrefix(after, `"`) {
					val, after = cutQuoted(after)
				} else {
					val, after = cutToken(after)
				}
				params[strings.ToLower(k)] = val
				s = after
			}
			if strings.EqualFold(name, scheme) {
				return params, true
			}
		}
	}
	return nil, false
}

func cutToken(s string) (string, string) {
	i := 0
	for i < len(s) && !strings.ContainsRune(" ,=\"", rune(s[i])) {
		i++
	}
	return s[:i], s[i:]
}

func cutQuoted(s string) (string, string) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '"':
			return b.String(), s[i+1:]
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String(), ""
}

// headerList splits a comma-separated header into lower-cased members.
func headerList(h http.Header, name string) []string {
	var out []string
	for _, v := range h.Values(name) {
		for _, p := range strings.Split(v, ",") {
			if p = strings.ToLower(strings.TrimSpace(p)); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
