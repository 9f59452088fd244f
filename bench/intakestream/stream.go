// Package intakestream generates the syslog stream of the security cloud
// intake benchmarks (issue 8 §6): the same lines feed go-syslog parse-only,
// kyojin end to end (cloud.BenchmarkEndToEnd) and rsyslog
// (bench/rsyslog-intake.sh), so the figures compare like with like.
package intakestream

import "fmt"

// Lines is a mixed RFC 3164 stream of the sources Appendix 3 names,
// with varied clients, hosts, URLs and queries; about one line in fifty
// carries something a shared Sigma rule or a model rule looks for.
func Lines(n int) [][]byte {
	hosts := []string{"www.city.example.lg.jp", "update.microsoft.com", "cdn.example.net", "www.pref.example.lg.jp"}
	rareHosts := []string{"api.telegram.org", "files.example.tk", "pastebin.com", "raw.githubusercontent.com"}
	uris := []string{"/index.html", "/images/logo.png", "/api/v1/items?id=42", "/css/site.css", "/js/app.js?v=3"}
	rareURIs := []string{"/download/setup.exe", "/search?q=<script>alert(1)</script>", "/cgi-bin/../../etc/passwd", "/wp-login.php"}
	uas := []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}
	rareUAs := []string{"sqlmap/1.7", "rclone/v1.66.0", "Microsoft BITS/7.8", "python-requests/2.31"}
	queries := []string{"www.city.example.lg.jp", "time.windows.com", "mail.pref.example.lg.jp", "ocsp.digicert.com"}
	rareQueries := []string{"pool.minexmr.com", "aGVsbG8gd29ybGQgdGhpcyBpcyBhIHRlc3Q.evil.example", "api.telegram.org", "x.duckdns.org"}
	ports := []int{443, 80, 53, 123}
	rarePorts := []int{23, 445, 3389, 4444}
	out := make([][]byte, n)
	for i := range out {
		rare := i%50 == 7
		pick := func(common, r []string) string {
			if rare {
				return r[i/50%len(r)]
			}
			return common[i/5%len(common)]
		}
		src := fmt.Sprintf("10.3.%d.%d", i/250%250, i%250+1) // Internet zone
		if i%97 == 3 {
			src = fmt.Sprintf("10.1.10.%d", i%250+1) // My Number zone: model rule
		} else if i%89 == 5 {
			src = fmt.Sprintf("10.2.10.%d", i%250+1) // LGWAN zone: model rule
		}
		sec := i % 60
		switch i % 5 {
		case 0:
			port := ports[i/5%len(ports)]
			if rare {
				port = rarePorts[i/50%len(rarePorts)]
			}
			out[i] = fmt.Appendf(nil, "<4>Nov 22 05:00:%02d fw1 kernel: [12345.678] LGWAN-DROP IN=eth1 OUT=eth0 MAC=00:16:3e:aa:bb:cc:00:16:3e:dd:ee:ff:08:00 SRC=%s DST=198.51.100.%d LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=%d DF PROTO=TCP SPT=%d DPT=%d WINDOW=64240 RES=0x00 SYN URGP=0",
				sec, src, i%200+1, i%65536, 30000+i%30000, port)
		case 1:
			q := pick(queries, rareQueries)
			out[i] = fmt.Appendf(nil, "<30>Nov 22 05:00:%02d dns1 named[812]: client @0x7f3a%04x %s#%d (%s): query: %s IN A +E(0)K (10.0.0.53)", sec, i%65536, src, 1024+i%60000, q, q)
		case 2:
			out[i] = fmt.Appendf(nil, `<190>Nov 22 05:00:%02d web1 nginx: 203.0.113.%d - - [22/Nov/2026:05:00:%02d +0900] "GET %s HTTP/1.1" 200 %d "https://www.city.example.lg.jp/" "%s"`,
				sec, i%250+1, sec, pick(uris, rareURIs), 512+i%4096, pick(uas, rareUAs))
		case 3:
			out[i] = fmt.Appendf(nil, "<22>Nov 22 05:00:%02d mx postfix/smtpd[2041]: NOQUEUE: reject: RCPT from unknown[192.0.2.%d]: 554 5.7.1 <spam%d@x.test>: Relay access denied; from=<a%d@x.test> to=<b@city.example.lg.jp> proto=ESMTP helo=<h%d.x.test>",
				sec, i%250+1, i%1000, i%1000, i%100)
		default:
			out[i] = fmt.Appendf(nil, "<134>Nov 22 05:00:%02d proxy squid[951]: 1700000000.%03d %d %s TCP_MISS/200 %d GET http://%s%s - HIER_DIRECT/198.51.100.%d text/html",
				sec, i%1000, 5+i%300, src, 1024+i%9000, pick(hosts, rareHosts), pick(uris, rareURIs), i%200+1)
		}
	}
	return out
}
