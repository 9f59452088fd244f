// Package consoleload measures the console under load: 50 concurrent
// logged-in sessions browsing the main pages of a prefecture-scale
// generated model (see model/modelgen), over real TLS, with the SQLite
// store. Run with
//
//	go test -run '^$' -bench ConsolePages -benchtime 4000x ./bench/consoleload
//
// It reports p50/p95/p99 latency per page; docs/performance-console.md has
// the figures.
package consoleload
