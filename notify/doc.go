// Package notify tells people what the security cloud found: alerts,
// incident state changes, SLA warnings, tamper detections and escalations
// are rendered from embedded Japanese (default) or English templates and
// delivered by mail through a configured SMTP server and by signed HTTPS
// webhooks.
//
// Nothing is lost between the caller and the receiver: Enqueue returns only
// once every delivery is written and fsynced to the outbox directory; the
// Dispatcher retries with exponential backoff and moves what it cannot
// deliver within the configured age to a visible dead-letter list
// (`kyojin notify outbox`). Routing rules (tenant, minimum severity, kinds)
// come from a strict YAML file; a storm of alerts on one route becomes one
// digest per interval. An escalation ladder (Escalator) notifies the next
// level — CSIRT desk → CSIRT lead → CISO → prefecture — while nobody
// acknowledges, through the Acker interface that alerts and incidents
// implement; its state survives restarts.
//
// MIC guideline clause 1(9) (CSIRT: contact points and reporting lines) and
// 7.3 (緊急時対応計画: who is told, in which order) are what the routes and
// the ladder implement. See docs/notify.md.
package notify
