package logparse

import (
	"errors"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/kyojin/kyojin/event"
)

// parseWeb reads nginx/Apache access logs in the "combined" and "common"
// formats (an optional leading "vhost:port" as in Apache vhost_combined),
// and nginx error-log lines that name a client.
func parseWeb(p *Parser, msg string, ev *event.Event) error {
	if len(msg) > 19 && msg[4] == '/' && msg[7] == '/' && msg[10] == ' ' {
		return parseNginxError(p, msg, ev)
	}
	if strings.HasPrefix(msg, "[") {
		return parseApacheError(p, msg, ev)
	}
	s := msg
	host, rest, ok := strings.Cut(s, " ")
	if !ok {
		return errors.New("web: no client")
	}
	if !looksIP(host) {
		// vhost_combined: "vhost:port client ..."
		ev.Set(event.CSHost, hostOnly(host))
		host, rest, ok = strings.Cut(rest, " ")
		if !ok || !looksIP(host) {
			return errors.New("web: bad client address")
		}
	}
	ev.Set(event.SrcIP, host)
	ev.Set(event.CIP, host)
	// ident user [time] "request" status bytes "referer" "agent"
	open := strings.IndexByte(rest, '[')
	closeB := strings.IndexByte(rest, ']')
	if open < 0 || closeB < open {
		return errors.New("web: no [time]")
	}
	var buf [16]string
	if f := fields(rest[:open], buf[:0]); len(f) == 2 {
		ev.Set(event.User, f[1])
	}
	if t, err := p.accessTime(rest[open+1 : closeB]); err == nil {
		ev.Time = t
	} else {
		return errors.New("web: bad time")
	}
	rest = strings.TrimSpace(rest[closeB+1:])
	req, rest, ok := quoted(rest)
	if !ok {
		return errors.New("web: no request")
	}
	setRequest(ev, req)
	f := fields(rest, buf[:0])
	if len(f) < 2 {
		return errors.New("web: no status")
	}
	ev.Set(event.SCStatus, f[0])
	ev.Set(event.SCBytes, f[1])
	rest = strings.TrimSpace(rest[strings.Index(rest, f[1])+len(f[1]):])
	if ref, r2, ok := quoted(rest); ok {
		ev.Set(event.CSReferrer, ref)
		ev.Set(event.CSReferer, ref)
		if ua, _, ok := quoted(strings.TrimSpace(r2)); ok {
			ev.Set(event.CUserAgent, ua)
			ev.Set(event.CSUserAgent, ua)
		}
	}
	return nil
}

// setRequest splits "METHOD URI PROTO".
// accessTimeLayout is the combined log format's [time].
const accessTimeLayout = "02/Jan/2006:15:04:05 -0700"

func setRequest(ev *event.Event, req string) {
	var buf [8]string
	f := fields(req, buf[:0])
	if len(f) == 0 {
		return
	}
	if len(f) < 2 {
		ev.Set("request", req) // garbage from scanners, kept
		return
	}
	ev.Set(event.CSMethod, f[0])
	uri := f[1]
	ev.Set(event.CURI, uri)
	if len(f) > 2 {
		ev.Set(event.CSVersion, f[2])
	}
	stem, q, _ := strings.Cut(uri, "?")
	if u, err := url.Parse(uri); err == nil && u.Host != "" {
		var host string
		host, _, stem, q = splitURL(uri)
		ev.Set(event.CSHost, host)
	}
	setStem(ev, stem, q)
}

// parseNginxError reads
// 2021/09/30 09:23:53 [error] 1#1: *17 message, client: 127.0.0.1, server: _, request: "GET / HTTP/1.1", host: "localhost"
func parseNginxError(p *Parser, msg string, ev *event.Event) error {
	if t, err := time.ParseInLocation("2006/01/02 15:04:05", msg[:19], p.loc); err == nil {
		ev.Time = t
	} else {
		return errors.New("web: bad error-log time")
	}
	s := strings.TrimSpace(msg[19:])
	if strings.HasPrefix(s, "[") {
		if j := strings.IndexByte(s, ']'); j > 0 {
			ev.Set(event.Severity, s[1:j])
			s = strings.TrimSpace(s[j+1:])
		}
	}
	body, tail, _ := strings.Cut(s, ", client: ")
	if _, m, ok := strings.Cut(body, ": "); ok {
		body = m
	}
	ev.Set(event.Message, body)
	if tail == "" {
		return nil
	}
	tail = "client: " + tail
	for tail != "" {
		k, r, ok := strings.Cut(tail, ": ")
		if !ok {
			break
		}
		var v string
		if strings.HasPrefix(r, `"`) {
			v, r, _ = quoted(r)
		} else {
			v, r, _ = strings.Cut(r, ",")
		}
		r = strings.TrimPrefix(strings.TrimSpace(r), ",")
		tail = strings.TrimSpace(r)
		switch k {
		case "client":
			ev.Set(event.SrcIP, v)
			ev.Set(event.CIP, v)
		case "server":
			ev.Set("server", v)
		case "request":
			setRequest(ev, v)
		case "host":
			ev.Set(event.CSHost, hostOnly(v))
		case "upstream", "referrer":
			ev.Set(k, v)
		}
	}
	return nil
}

// quoted reads a leading "..." with \" escapes (nginx escapes as \x22).
func quoted(s string) (val, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		return "", s, false
	}
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '"':
			return s[1:i], s[i+1:], true
		}
	}
	return "", s, false
}

func looksIP(s string) bool { return net.ParseIP(s) != nil }

func hostOnly(s string) string {
	if h, _, err := net.SplitHostPort(s); err == nil {
		return h
	}
	return s
}

// parseApacheError reads Apache 2.4 error-log lines:
// [Thu Oct 13 12:24:49.880562 2022] [auth_basic:error] [pid 10:tid 1] [client 192.0.2.1:50229] AH01618: message
func parseApacheError(p *Parser, msg string, ev *event.Event) error {
	s := msg
	n := 0
	for strings.HasPrefix(s, "[") || strings.HasPrefix(s, "(") {
		j := strings.IndexAny(s, "])")
		if j < 0 {
			break
		}
		part := s[1:j]
		switch {
		case n == 0:
			t, err := time.ParseInLocation("Mon Jan 02 15:04:05.000000 2006", part, p.loc)
			if err != nil {
				return errors.New("web: bad error-log time")
			}
			ev.Time = t
		case strings.HasPrefix(part, "client "):
			if h := hostOnly(strings.TrimPrefix(part, "client ")); looksIP(h) {
				ev.Set(event.SrcIP, h)
				ev.Set(event.CIP, h)
			}
		case strings.HasPrefix(part, "pid "):
		case n == 1:
			mod, lvl, _ := strings.Cut(part, ":")
			ev.Set("module", mod)
			ev.Set(event.Severity, lvl)
		}
		n++
		s = strings.TrimSpace(s[j+1:])
		if k := strings.Index(s, "[client "); k > 0 && !strings.HasPrefix(s, "[") {
			// "(70014)End of file found: [client ...]" — text before the client
			ev.Set("os_error", strings.TrimSpace(s[:k]))
			s = s[k:]
		}
	}
	if n == 0 {
		return errors.New("web: not an access or error log line")
	}
	ev.Set(event.Message, s)
	return nil
}
