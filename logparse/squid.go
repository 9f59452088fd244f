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
	secS, fracS, _ := strings.Cut(f[0], ".")
	sec, err := strconv.ParseInt(secS, 10, 64)
	if err != nil || sec < 0 || sec > 1e11 || len(fracS) > 9 {
		return errors.New("squid: bad timestamp")
	}
	var nsec int64
	if fracS != "" {
		if nsec, err = strconv.ParseInt(fracS+strings.Repeat("0", 9-len(fracS)), 10, 64); err != nil {
			return errors.New("squid: bad timestamp")
		}
	}
	ev.Time = time.Unix(sec, nsec).UTC()
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
	u, err := url.Parse(raw)
	if err != nil {
		return
	}
	ev.Set(event.CSHost, u.Hostname())
	ev.Set(event.DstPort, u.Port())
	setStem(ev, u.EscapedPath(), u.RawQuery)
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
