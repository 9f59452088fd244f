// Package assess is the PDCA side of kyojin: it reads a fiscal year's
// self-assessment (自己点検) of the guideline's standards (対策基準), joins it
// with the automatic results of check.Run, decides which catalog entries apply
// to the body (catalog.AppliesTo on the model's network model, organization
// kind, features and zones), and scores the result per section and overall.
// It also carries the audit (監査, standards clause 9.1) findings and
// corrective actions (改善計画, 9.1(7)) from one year to the next, lists
// exceptions (例外措置, clause 9.2(3)) with their expiry, and exports and
// imports per-department self-inspection workbooks.
package assess
