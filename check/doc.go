package check

import (
	"fmt"
	"strings"
)

// RulesMarkdown renders the rule catalogue (docs/rules.md is generated from it).
func RulesMarkdown() string {
	var b strings.Builder
	b.WriteString("# 検査ルール一覧 / Segmentation rules\n\n")
	b.WriteString("`kyojin check` が適用するルールです。このファイルは `go test ./check -update` で check/rules.go から生成されます。\n")
	b.WriteString("This file is generated from check/rules.go by `go test ./check -update`.\n\n")
	b.WriteString("| ID | 重大度 | ルール | Rule | 根拠 |\n|---|---|---|---|---|\n")
	for _, r := range Rules {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.ID, r.Severity.JA(), r.Title.JA, r.Title.EN, strings.Join(r.Clauses, "、"))
	}
	b.WriteString("\n## 是正の方法 / Remediation\n\n")
	for _, r := range Rules {
		fmt.Fprintf(&b, "- **%s** %s / %s\n", r.ID, r.Remediation.JA, r.Remediation.EN)
	}
	b.WriteString("\n根拠の表記: 「3(1)①」は対策基準（例文）の条項、「付録2 手順N」は付録2の手順、「参考5 N」は参考5（要件シート）の項番です。\n")
	return b.String()
}
