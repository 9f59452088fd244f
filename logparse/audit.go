package logparse

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kyojin/kyojin/event"
)

// auditMap renames kyojin audit / mailgate JSON keys to the schema.
var auditMap = map[string]string{
	"client_ip": event.SrcIP, "from": event.MailFrom, "to": event.MailTo, "helo": event.MailHelo,
	"queue_id": event.MailQueue, "message_id": event.MailMsgID, "event": event.Action,
	"action": event.Action, "user": event.User, "actor": event.User, "remote": event.SrcIP,
}

// parseAudit reads one JSON object per line as written by kyojin's mail
// gateway (mailgate.Record) and sanitizer and audit exports. Top-level
// scalars are kept; arrays of scalars are joined with ","; nested objects
// are flattened one level as "parent.key".
func parseAudit(_ *Parser, msg string, ev *event.Event) error {
	d := json.NewDecoder(strings.NewReader(msg))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return errors.New("kyojin: not a JSON object")
	}
	if d.More() {
		return errors.New("kyojin: trailing data after JSON object")
	}
	for k, v := range m {
		name := k
		if a, ok := auditMap[k]; ok {
			name = a
		}
		switch v := v.(type) {
		case map[string]any:
			for k2, v2 := range v {
				if s, ok := scalar(v2); ok {
					ev.Set(k+"."+k2, s)
				}
			}
		case []any:
			var parts []string
			for _, x := range v {
				if s, ok := scalar(x); ok {
					parts = append(parts, s)
				}
			}
			ev.Set(name, strings.Join(parts, ","))
		default:
			if s, ok := scalar(v); ok {
				ev.Set(name, s)
			}
		}
	}
	for _, k := range []string{"time", "ts", "at"} {
		if s, ok := m[k].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
				ev.Time = t
				break
			}
		}
	}
	return nil
}

func scalar(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return fmt.Sprint(v), true
	case nil:
		return "", false
	}
	return "", false
}
