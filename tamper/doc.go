// Package tamper detects content tampering (コンテンツ改ざん検知) of the
// published websites of each tenant, as the prefecture security cloud
// provides it (MIC guideline, Appendix 3, tool 7; issue 9 §2).
//
// For every configured site it keeps a signed baseline (ed25519) of the web
// roots — path, type, size, mode, SHA-256 and symlink targets — and watches
// the roots with file-system notifications plus periodic full scans. It
// fetches listed URLs from outside and compares them exactly (static pages)
// or after normalisation (dynamic pages), and analyses the HTML for injected
// scripts, iframes and redirects to domains outside an allowlist. Optional
// restore writes baselined content back atomically from a content-addressed
// copy kept outside the web root and quarantines added files as evidence.
//
// Changes are raised through the small Alerter interface; JSONLines is the
// default implementation. See docs/tamper.md.
package tamper
