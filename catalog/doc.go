// Package catalog holds the MIC guideline 「地方公共団体における情報セキュリティポリシーに関する
// ガイドライン」 as a control catalog: one Entry per numbered clause "(n)" of the example
// standards (対策基準 例文, sections 1-9) and per sub-clause (①…, (ア)…), plus companion
// catalogs of the same shape (the 11-item ransomware checklist, the resilience-model
// requirements sheet of Reference 5, and the outsourcing vendor requirements).
//
// The data lives in YAML files under data/, embedded with go:embed and loaded by a small
// strict loader: unknown fields, wrong types, bad enum values, malformed or duplicate IDs and
// missing parents are errors, and every problem is reported at once with file:line.
// Anchors, aliases and tags are rejected so that a data file cannot expand beyond its size.
//
// IDs follow the guideline numbering so auditors recognise them: "1(1)", "1(1)②",
// "3(2)①(ア)", "6.1(14)③"; subsections without numbered clauses use the subsection itself
// ("4.3", "4.3①"). Requirements introduced by a later edition whose exact clause number the
// sources do not give carry the edition as a suffix at the clause the sources point to, e.g.
// "8.2@R6.10" (system outsourcing, added in the R6.10 edition as 8.2).
//
// Titles and summaries are the project's own wording; they cite, never quote, the guideline.
//
// Omitted fields of a sub-clause (role, verification, evidence, applies) are inherited from
// its parent; section, subsection and parent are derived from the ID. Entries without an
// "@edition" suffix implicitly carry the H30.9 baseline edition.
package catalog
