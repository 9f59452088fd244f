package report_test

import (
	"fmt"
	"os"
	"time"

	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/report"
)

func ExampleWrite() {
	res := &check.Result{
		Organization: "架空町", Code: "999997", NetworkModel: "alpha",
		Findings: []check.Finding{{
			Rule: "MN-TERM-MFA", Severity: check.High,
			Title:       diag.T("マイナンバー利用事務系端末が多要素認証ではありません", "My Number terminals lack multi-factor authentication"),
			Objects:     []string{"host/mn-term"},
			Clauses:     []string{"3(1)②(ア)"},
			Remediation: diag.T("二要素以上の認証にしてください。", "Use two factors or more."),
			File:        "hosts.yaml", Line: 12,
		}},
	}
	err := report.Write(os.Stdout, report.Text, res, diag.List{}, report.Options{Now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)})
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// 三層の対策 検査報告書
	// 団体: 架空町（団体コード 999997）
	// ネットワークモデル: αモデル
	// 検査範囲: ゾーン 0、業務システム 0、情報資産 0、ホスト 0、端末 0、特定通信 0、通信経路 0
	// 指摘事項: 1件（重大 0、高 1、中 0、低 0、情報 0）
	// 接続情報: ネットワーク接続情報 0件（NG 0）、サーバ間接続情報 0件（NG 0）、端末接続情報 0件（NG 0）
	//
	// [高] MN-TERM-MFA マイナンバー利用事務系端末が多要素認証ではありません
	//     対象: host/mn-term
	//     根拠: 対策基準 3(1)②(ア)
	//     対処: 二要素以上の認証にしてください。
	//     場所: hosts.yaml:12
}

func ExampleFormatFromPath() {
	for _, p := range []string{"report.html", "out/findings.xlsx", "-"} {
		f, _ := report.FormatFromPath(p)
		fmt.Println(p, f)
	}
	// Output:
	// report.html html
	// out/findings.xlsx xlsx
	// - text
}
