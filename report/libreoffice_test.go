package report

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestXLSXOpensInLibreOffice hands the workbook to a real spreadsheet
// program: LibreOffice must open it and export every sheet as CSV with the
// values excelize wrote. Skips when soffice is not installed.
func TestXLSXOpensInLibreOffice(t *testing.T) {
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Skip("soffice (LibreOffice) not installed; apt-get install libreoffice-calc to run this test")
	}
	if testing.Short() {
		t.Skip("starts LibreOffice; skipped with -short")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "report.xlsx")
	if err := os.WriteFile(in, render(t, XLSX, testResult(), testWarnings(), testOptions("ja")), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Filter options: comma, double quote, UTF-8, from row 1, ..., sheet -1 = every sheet to its own file.
	cmd := exec.CommandContext(ctx, soffice, "--headless", "--norestore",
		"-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1",
		"--outdir", dir, in)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("soffice: %v\n%s", err, out)
	}
	want := map[string][]string{
		SheetSummary:      {"団体,架空市", "ネットワークモデル,β'モデル"},
		SheetFindings:     {"No.,重要度,ルールID,指摘,内容,対象,根拠,対処,ファイル,行", "1,重大,LGWAN-INET-DIRECT,"},
		SheetConnections:  {"mynumber,kokuho,特定通信,特定通信,any,1,NG,MN-SPECIFIC-PORT"},
		SheetServerPairs:  {`f-relay-01,lg-relay01,lgwan,中継サーバ,inet-proxy01,internet,プロキシ,tcp/8080,直接通信,NG,"MN-PATH-INTERNET, LGWAN-INET-DIRECT"`},
		SheetTerminalRows: {"f-vdi,inet-term-std,internet,業務端末,600,lg-vdi01,lgwan,画面転送,tcp/443,画面転送,OK,"},
	}
	for sheet, lines := range want {
		b, err := os.ReadFile(filepath.Join(dir, "report-"+sheet+".csv"))
		if err != nil {
			t.Errorf("sheet %s not exported: %v", sheet, err)
			continue
		}
		for _, l := range lines {
			if !strings.Contains(string(b), l) {
				t.Errorf("sheet %s as read by LibreOffice lacks %q:\n%s", sheet, l, b)
			}
		}
	}
}
