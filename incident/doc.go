// Package incident is the CSIRT's incident handling (guideline clauses 1(9),
// 5.3 and 7.3): incidents created from alerts or from reports by staff and
// outsiders, the first-response flow as a state machine with owners, SLA
// timers and escalation to the prefecture and MIC, encrypted evidence with
// recorded hashes, playbooks (初動対応手順) as checklists, the post-incident
// review whose corrective actions feed the self-assessment (package assess),
// reports (報告書, DOCX and PDF) and monthly statistics.
//
// What it needs from the rest of the security cloud is behind small
// interfaces (ports.go): AlertSource, Notifier, IndicatorPublisher and
// ModelSource. Persistence is store.IncidentStore; every action is recorded
// in the hash-chained audit log.
package incident
