package logparse

import (
	"errors"
	"strings"

	"github.com/kyojin/kyojin/event"
)

// parsePostfix reads Postfix smtpd / qmgr / smtp / cleanup / anvil lines:
//
//	NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 554 5.7.1 ...; from=<a@b> to=<c@d> proto=ESMTP helo=<h>
//	4F1C12345: client=mail.example[192.0.2.1]
//	4F1C12345: from=<a@b>, size=1234, nrcpt=1 (queue active)
//	4F1C12345: to=<c@d>, relay=mx[198.51.100.1]:25, delay=1, dsn=2.0.0, status=sent (250 ok)
//	warning: unknown[192.0.2.1]: SASL LOGIN authentication failed: ...
func parsePostfix(_ *Parser, msg string, ev *event.Event) error {
	prog := ev.Fields[event.Program]
	if prog != "" && !isPostfixProgram(prog) {
		return errors.New("postfix: program is " + prog)
	}
	s := msg
	if id, rest, ok := strings.Cut(s, ": "); ok && isQueueID(id) {
		if id != "NOQUEUE" {
			ev.Set(event.MailQueue, id)
		}
		s = rest
	}
	if act, rest, ok := strings.Cut(s, ": "); ok && (act == "reject" || act == "discard" || act == "hold" || act == "warning" || act == "filter") {
		ev.Set(event.Action, act)
		s = rest
		if act == "reject" {
			if cmd, _, ok := strings.Cut(rest, " "); ok {
				ev.Set("command", cmd)
			}
		}
	}
	// client: "from host[ip]", "client=host[ip]", "host[ip]:" (warnings)
	if host, ip := hostAddr(s); ip != "" {
		ev.Set("src_host", host)
		ev.Set(event.SrcIP, ip)
	}
	if strings.Contains(s, "authentication failed") {
		ev.Set(event.Action, "auth-failed")
	}
	kv(s, ',', func(k, v string) {
		v = strings.Trim(v, "<>;")
		switch k {
		case "from":
			ev.Set(event.MailFrom, v)
		case "to":
			ev.Set(event.MailTo, v)
		case "helo":
			ev.Set(event.MailHelo, v)
		case "message-id":
			ev.Set(event.MailMsgID, v)
		case "status":
			ev.Set(event.MailStatus, v)
			if ev.Fields[event.Action] == "" {
				ev.Set(event.Action, v)
			}
		case "relay":
			ev.Set(event.MailRelay, v)
			if _, ip := hostAddr(v); ip != "" {
				ev.Set(event.DstIP, ip)
			}
		case "sasl_username":
			ev.Set(event.User, v)
		case "proto", "dsn", "size", "nrcpt", "delay", "orig_to", "sasl_method":
			ev.Set(k, v)
		}
	})
	if len(ev.Fields) <= 3 && prog == "" {
		return errors.New("postfix: no postfix fields")
	}
	return nil
}

// isQueueID accepts Postfix short (hex) and long queue ids and NOQUEUE.
func isQueueID(s string) bool {
	if s == "NOQUEUE" {
		return true
	}
	if len(s) < 6 || len(s) > 20 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// hostAddr finds the first "name[addr]" in s.
func hostAddr(s string) (host, ip string) {
	for off := 0; off < len(s); {
		i := strings.IndexByte(s[off:], '[')
		if i < 0 {
			return "", ""
		}
		i += off
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return "", ""
		}
		cand := strings.TrimPrefix(s[i+1:i+j], "IPv6:")
		if looksIP(cand) {
			k := strings.LastIndexAny(s[:i], " =")
			return s[k+1 : i], cand
		}
		off = i + j
	}
	return "", ""
}

// postfixDaemons are the daemon names Postfix logs under
// "<syslog_name>/<daemon>"; syslog_name is configurable (postfix,
// postfix/submission, postfix-out, ...), so the daemon decides.
var postfixDaemons = map[string]bool{
	"smtpd": true, "smtp": true, "qmgr": true, "cleanup": true, "pickup": true, "bounce": true,
	"local": true, "virtual": true, "lmtp": true, "anvil": true, "postscreen": true, "master": true,
	"trivial-rewrite": true, "error": true, "pipe": true, "scache": true, "tlsmgr": true,
	"dnsblog": true, "postlogd": true, "sendmail": true, "postqueue": true, "postdrop": true,
	"discard": true, "showq": true, "verify": true, "proxymap": true, "tlsproxy": true,
	"postfix-script": true, "postsuper": true, "postmap": true, "oqmgr": true, "spawn": true,
}

func isPostfixProgram(prog string) bool {
	if strings.HasPrefix(prog, "postfix") {
		return true
	}
	i := strings.LastIndexByte(prog, '/')
	return i > 0 && postfixDaemons[prog[i+1:]]
}
