package wareki

import (
	"testing"
	"time"
)

func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 12, 0, 0, 0, time.UTC) }

func TestOf(t *testing.T) {
	tests := []struct {
		in    time.Time
		want  string
		short string
	}{
		{day(2026, time.November, 22), "令和8年11月22日", "R8.11.22"},
		{day(2019, time.April, 30), "平成31年4月30日", "H31.4.30"},
		{day(2019, time.May, 1), "令和元年5月1日", "R1.5.1"},
		{day(2019, time.December, 31), "令和元年12月31日", "R1.12.31"},
		{day(2020, time.January, 1), "令和2年1月1日", "R2.1.1"},
		{day(1989, time.January, 7), "昭和64年1月7日", "S64.1.7"},
		{day(1989, time.January, 8), "平成元年1月8日", "H1.1.8"},
		{day(1926, time.December, 24), "大正15年12月24日", "T15.12.24"},
		{day(1926, time.December, 25), "昭和元年12月25日", "S1.12.25"},
		{day(1912, time.July, 29), "明治45年7月29日", "M45.7.29"},
		{day(1912, time.July, 30), "大正元年7月30日", "T1.7.30"},
		{day(1873, time.January, 1), "明治6年1月1日", "M6.1.1"},
	}
	for _, tt := range tests {
		d, err := Of(tt.in)
		if err != nil {
			t.Errorf("Of(%s): %v", tt.in.Format(time.DateOnly), err)
			continue
		}
		if got := d.String(); got != tt.want {
			t.Errorf("Of(%s) = %s, want %s", tt.in.Format(time.DateOnly), got, tt.want)
		}
		if got := d.Short(); got != tt.short {
			t.Errorf("Of(%s).Short() = %s, want %s", tt.in.Format(time.DateOnly), got, tt.short)
		}
	}
}

func TestOfBeforeGregorian(t *testing.T) {
	if _, err := Of(day(1872, time.December, 31)); err == nil {
		t.Fatal("Of(1872-12-31) succeeded; want an error (lunisolar calendar in force)")
	}
	if got := Format(day(1872, time.December, 31)); got != "1872-12-31" {
		t.Errorf("Format(1872-12-31) = %q, want the ISO fallback", got)
	}
}

// The calendar date is taken in the time's own location: 2019-04-30 23:30
// in UTC is already 令和元年5月1日 in Japan.
func TestOfUsesLocation(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	utc := time.Date(2019, time.April, 30, 15, 30, 0, 0, time.UTC)
	if got := Format(utc); got != "平成31年4月30日" {
		t.Errorf("Format(UTC) = %s", got)
	}
	if got := Format(utc.In(jst)); got != "令和元年5月1日" {
		t.Errorf("Format(JST) = %s", got)
	}
}
