package logparse

import (
	"errors"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/kyojin/kyojin/event"
)

// parseSquid reads Squid's native access.log format (logformat "squid"):
// time elapsed remotehost code/status bytes method URL rfc931 peerstatus/peerhost type
func parseSquid(_ *Parser, msg string, ev *event.Event) error {
	var buf [16]string
	f := fields(msg, buf[:0])
	if len(f) < 7 {
		return errors.New("squid: fewer than 7 fields")
	}
	t, ok := squidStamp(f[0])
	if !ok {
		return errors.New("squid: bad timestamp")
	}
	ev.Time = t
	ev.Set("duration_ms", f[1])
	if net.ParseIP(f[2]) == nil {
		return errors.New("squid: bad client address")
	}
	ev.Set(event.SrcIP, f[2])
	ev.Set(event.CIP, f[2])
	code, status, ok := strings.Cut(f[3], "/")
	if !ok {
		return errors.New("squid: bad result code")
	}
	ev.Set(event.Action, code)
	ev.Set(event.SCStatus, status)
	ev.Set(event.SCBytes, f[4])
	ev.Set(event.CSMethod, f[5])
	setURL(ev, f[6], f[5] == "CONNECT")
	if len(f) > 7 {
		ev.Set(event.User, f[7])
	}
	if len(f) > 8 {
		if _, peer, ok := strings.Cut(f[8], "/"); ok && net.ParseIP(peer) != nil {
			ev.Set(event.DstIP, peer)
		}
	}
	if len(f) > 9 {
		ev.Set("mime_type", f[9])
	}
	return nil
}

// setURL fills the proxy URL fields from an absolute URL or a CONNECT
// authority.
// squidStamp reads Squid's "seconds.millis" epoch stamp.
func squidStamp(s string) (time.Time, bool) {
	secS, fracS, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secS, 10, 64)
	if err != nil || sec < 0 || sec > 1e11 || len(fracS) > 9 {
		return time.Time{}, false
	}
	var nsec int64
	if fracS != "" {
		if nsec, err = strconv.ParseInt(fracS+strings.Repeat("0", 9-len(fracS)), 10, 64); err != nil {
			return time.Time{}, false
		}
	}
	return time.Unix(sec, nsec).UTC(), true
}

func setURL(ev *event.Event, raw string, connect bool) {
	ev.Set(event.CURI, raw)
	if connect {
		host, port, err := net.SplitHostPort(raw)
		if err == nil {
			ev.Set(event.CSHost, host)
			ev.Set(event.DstPort, port)
		}
		return
	}
	if _, err := url.Parse(raw); err != nil {
		return
	}
	host, port, stem, query := splitURL(raw)
	ev.Set(event.CSHost, host)
	ev.Set(event.DstPort, port)
	setStem(ev, stem, query)
}

// splitURL cuts a URL that url.Parse accepts into host, port, path and
// query as they are written in the line (url.Parse would unescape the host
// and re-escape the path): a rule then sees what the device logged, and
// every value is a substring of the raw line (Verbatim).
func splitURL(raw string) (host, port, stem, query string) {
	s, _, _ := strings.Cut(raw, "#")
	s, query, _ = strings.Cut(s, "?")
	if i := strings.Index(s, "://"); i > 0 && !strings.ContainsAny(s[:i], "/?") {
		s = s[i+1:]
	}
	if rest, ok := strings.CutPrefix(s, "//"); ok {
		auth := rest
		if j := strings.IndexByte(rest, '/'); j >= 0 {
			auth, s = rest[:j], rest[j:]
		} else {
			s = ""
		}
		if at := strings.LastIndexByte(auth, '@'); at >= 0 {
			auth = auth[at+1:]
		}
		host = auth
		if strings.HasPrefix(auth, "[") {
			if j := strings.IndexByte(auth, ']'); j > 0 {
				host = auth[1:j]
				port, _ = strings.CutPrefix(auth[j+1:], ":")
			}
		} else if j := strings.LastIndexByte(auth, ':'); j >= 0 {
			host, port = auth[:j], auth[j+1:]
		}
	}
	return host, port, s, query
}

func setStem(ev *event.Event, stem, query string) {
	ev.Set(event.CURIStem, stem)
	ev.Set(event.CSURIStem, stem)
	ev.Set(event.CURIQuery, query)
	ev.Set(event.CSURIQuery, query)
	if ext := path.Ext(stem); len(ext) > 1 {
		ev.Set(event.CURIExtension, ext[1:])
	}
}
