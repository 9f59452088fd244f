// Package policy generates a body's security policy documents from its
// model and the catalog: the publishable basic policy (基本方針, which Local
// Autonomy Act art. 244-6 requires bodies to set and publish from April 2026)
// and the standards (対策基準). Role holders come from the model, clauses are
// those applying to the body's network model, zones, kind and features,
// recommendations only where the body opted in, and the classification
// scheme in force (3A/3B/3C/2/1 from R6.10). The text is the project's own
// wording: catalog summaries joined by connecting text written here.
// Documents render to DOCX (WordprocessingML written directly), self-contained
// HTML, and PDF (LibreOffice converts the DOCX, embedding the fonts).
package policy
