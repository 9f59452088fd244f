package sanitize_test

import (
	"archive/zip"
	"bytes"
	"slices"
	"testing"

	"golang.org/x/text/encoding/japanese"

	"github.com/kyojin/kyojin/sanitize"
)

func zipWith(t testing.TB, files map[string]string) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for name, body := range files {
		w, _ := zw.Create(name)
		w.Write([]byte(body))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func contentTypes(main string) string {
	return `<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
		`<Default Extension="xml" ContentType="application/xml"/><Override PartName="/main.xml" ContentType="` + main + `"/></Types>`
}

func TestDetect(t *testing.T) {
	sjis, _ := japanese.ShiftJIS.NewEncoder().Bytes([]byte("お知らせ①～"))
	euc, _ := japanese.EUCJP.NewEncoder().Bytes([]byte("ひらがなカタカナ漢字"))
	iso, _ := japanese.ISO2022JP.NewEncoder().Bytes([]byte("件名"))
	tests := []struct {
		name    string
		file    string
		data    []byte
		want    sanitize.Type
		charset sanitize.Charset
		also    []sanitize.Type
	}{
		{"png", "a.png", []byte("\x89PNG\r\n\x1a\n...."), sanitize.TypePNG, "", nil},
		{"jpeg", "a.jpg", []byte{0xFF, 0xD8, 0xFF, 0xE0}, sanitize.TypeJPEG, "", nil},
		{"gif", "a.gif", []byte("GIF89a......"), sanitize.TypeGIF, "", nil},
		{"webp", "a.webp", []byte("RIFF\x00\x00\x00\x00WEBPVP8 "), sanitize.TypeWebP, "", nil},
		{"tiff", "a.tif", []byte("II*\x00\x08\x00\x00\x00"), sanitize.TypeTIFF, "", nil},
		{"bmp", "a.bmp", append([]byte("BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00"), make([]byte, 40)...), sanitize.TypeBMP, "", nil},
		{"text starting with BM", "a.txt", []byte("BMW drivers club\n"), sanitize.TypeText, sanitize.CharsetUTF8, nil},
		{"7z", "a.7z", []byte("7z\xBC\xAF\x27\x1C\x00\x04"), sanitize.Type7z, "", nil},
		{"pdf late header", "a.pdf", append(bytes.Repeat([]byte(" "), 500), "%PDF-1.7\n"...), sanitize.TypePDF, "", nil},
		{"rtf", "a.rtf", []byte(`{\rtf1\ansi hello}`), sanitize.TypeRTF, "", nil},
		{"rtf short signature", "a.rtf", []byte(`{\rtx hello}`), sanitize.TypeRTF, "", nil},
		{"plain zip", "a.zip", zipWith(t, map[string]string{"a.txt": "x"}), sanitize.TypeZIP, "", nil},
		{"docx", "a.docx", zipWith(t, map[string]string{"[Content_Types].xml": contentTypes("application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml")}), sanitize.TypeDOCX, "", nil},
		{"docm", "a.docm", zipWith(t, map[string]string{"[Content_Types].xml": contentTypes("application/vnd.ms-word.document.macroEnabled.main+xml")}), sanitize.TypeDOCM, "", nil},
		{"xlsm", "a.xlsm", zipWith(t, map[string]string{"[Content_Types].xml": contentTypes("application/vnd.ms-excel.sheet.macroEnabled.main+xml")}), sanitize.TypeXLSM, "", nil},
		{"pptx", "a.pptx", zipWith(t, map[string]string{"[Content_Types].xml": contentTypes("application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml")}), sanitize.TypePPTX, "", nil},
		{"xlsb is unknown", "a.xlsb", zipWith(t, map[string]string{"[Content_Types].xml": contentTypes("application/vnd.ms-excel.sheet.binary.macroEnabled.main")}), sanitize.TypeUnknown, "", nil},
		{"utf-8", "a.txt", []byte("こんにちは\n"), sanitize.TypeText, sanitize.CharsetUTF8, nil},
		{"utf-8 bom", "a.txt", []byte("\xEF\xBB\xBFこんにちは\n"), sanitize.TypeText, sanitize.CharsetUTF8BOM, nil},
		{"shift_jis", "a.txt", sjis, sanitize.TypeText, sanitize.CharsetShiftJIS, nil},
		{"euc-jp", "a.txt", euc, sanitize.TypeText, sanitize.CharsetEUCJP, nil},
		{"iso-2022-jp", "a.txt", iso, sanitize.TypeText, sanitize.CharsetISO2022JP, nil},
		{"csv by name", "a.csv", []byte("a,b\n1,2\n"), sanitize.TypeCSV, sanitize.CharsetUTF8, nil},
		{"binary", "a.bin", []byte("MZ\x90\x00\x03\x00"), sanitize.TypeUnknown, "", nil},
		{"empty", "a.txt", nil, sanitize.TypeUnknown, "", nil},
		{"png+zip polyglot", "a.png", append([]byte("\x89PNG\r\n\x1a\n...."), zipWith(t, map[string]string{"a": "b"})...), sanitize.TypePNG, "", []sanitize.Type{sanitize.TypeZIP}},
		{"gif with pdf header", "a.gif", []byte("GIF89a\n%PDF-1.4\n"), sanitize.TypeGIF, "", []sanitize.Type{sanitize.TypePDF}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := sanitize.Detect(bytes.NewReader(tc.data), int64(len(tc.data)), tc.file, "")
			if d.Type != tc.want || d.Charset != tc.charset || !slices.Equal(d.Also, tc.also) {
				t.Errorf("Detect = %+v, want %s %s %v", d, tc.want, tc.charset, tc.also)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	txt := sanitize.Detection{Type: sanitize.TypeText}
	png := sanitize.Detection{Type: sanitize.TypePNG}
	tests := []struct {
		name, mime string
		d          sanitize.Detection
		want       []sanitize.NameIssue
	}{
		{"memo.txt", "text/plain", txt, nil},
		{"写真.PNG", "image/png; charset=binary", png, nil},
		{"report.2024.txt", "", txt, nil},
		{"invoice.pdf.exe", "", txt, []sanitize.NameIssue{sanitize.IssueExtensionMismatch, sanitize.IssueDoubleExtension}},
		{"invoice.pdf.txt", "", txt, []sanitize.NameIssue{sanitize.IssueDoubleExtension}},
		{"photo\u202Egnp.txt", "", txt, []sanitize.NameIssue{sanitize.IssueBidiControl}},
		{"zero\u200Bwidth.txt", "", txt, []sanitize.NameIssue{sanitize.IssueBidiControl}},
		{"README", "", txt, []sanitize.NameIssue{sanitize.IssueNoExtension}},
		{".bashrc", "", txt, []sanitize.NameIssue{sanitize.IssueNoExtension}},
		{"memo.txt. . ", "", txt, nil},
		{"photo.jpg", "", png, []sanitize.NameIssue{sanitize.IssueExtensionMismatch}},
		{"photo.png", "application/pdf", png, []sanitize.NameIssue{sanitize.IssueMIMEMismatch}},
		{"photo.png", "application/octet-stream", png, nil},
	}
	for _, tc := range tests {
		got := sanitize.CheckName(tc.name, tc.mime, tc.d)
		if !slices.Equal(got, tc.want) {
			t.Errorf("CheckName(%q, %q) = %v, want %v", tc.name, tc.mime, got, tc.want)
		}
	}
}

func TestOutputName(t *testing.T) {
	tests := []struct {
		in   string
		t    sanitize.Type
		want string
	}{
		{"scan.bmp", sanitize.TypePNG, "scan.png"},
		{"photo.JPG", sanitize.TypeJPEG, "photo.jpg"},
		{"C:\\Users\\x\\evil\u202Etxt.exe", sanitize.TypeText, "eviltxt.txt"},
		{"../../etc/passwd.txt", sanitize.TypeText, "passwd.txt"},
		{"archive.7z", sanitize.TypeZIP, "archive.zip"},
		{"..", sanitize.TypeText, "file.txt"},
	}
	for _, tc := range tests {
		if got := sanitize.OutputName(tc.in, tc.t); got != tc.want {
			t.Errorf("OutputName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzDetect(f *testing.F) {
	f.Add([]byte("\x89PNG\r\n\x1a\n"), "a.png")
	f.Add([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0}, "a.doc")
	f.Add(zipWith(f, map[string]string{"[Content_Types].xml": contentTypes("application/vnd.ms-word.document.macroEnabled.main+xml")}), "a.docm")
	f.Add([]byte("a,b\n=1,2\n"), "a.csv")
	f.Fuzz(func(t *testing.T, b []byte, name string) {
		d := sanitize.Detect(bytes.NewReader(b), int64(len(b)), name, "")
		if d.Type == "" {
			t.Fatal("empty type")
		}
		sanitize.CheckName(name, "", d)
		sanitize.OutputName(name, d.Type)
	})
}
