// Package wareki converts Gregorian dates to the Japanese era calendar
// (和暦): 令和, 平成, 昭和, 大正 and 明治 from the adoption of the Gregorian
// calendar (明治6年1月1日 = 1873-01-01). Official documents of local
// governments are dated this way, so reports print both forms. The first
// year of an era is written 元年.
package wareki

import (
	"fmt"
	"time"
)

// Era is a Japanese era name and the first Gregorian day it covers.
type Era struct {
	Name    string // 令和
	Romaji  string // Reiwa
	Initial string // R
	start   civil  // first day of the era
}

// civil is a calendar day without time of day or zone.
type civil struct {
	Year  int
	Month time.Month
	Day   int
}

func (c civil) before(d civil) bool {
	if c.Year != d.Year {
		return c.Year < d.Year
	}
	if c.Month != d.Month {
		return c.Month < d.Month
	}
	return c.Day < d.Day
}

// eras, newest first. 明治 starts here at 1873-01-01: before that day Japan
// used the lunisolar calendar, so a Gregorian date has no direct 和暦 form.
var eras = []Era{
	{"令和", "Reiwa", "R", civil{2019, time.May, 1}},
	{"平成", "Heisei", "H", civil{1989, time.January, 8}},
	{"昭和", "Showa", "S", civil{1926, time.December, 25}},
	{"大正", "Taisho", "T", civil{1912, time.July, 30}},
	{"明治", "Meiji", "M", civil{1868, time.January, 25}},
}

// gregorianAdoption is the first day this package converts.
var gregorianAdoption = civil{1873, time.January, 1}

// Date is a day in the Japanese era calendar.
type Date struct {
	Era   Era
	Year  int // year of the era, 1 for 元年
	Month time.Month
	Day   int
}

// Of converts the calendar date of t (in t's own location) to 和暦. It fails
// for dates before 1873-01-01.
func Of(t time.Time) (Date, error) {
	y, m, d := t.Date()
	c := civil{y, m, d}
	if c.before(gregorianAdoption) {
		return Date{}, fmt.Errorf("wareki: %04d-%02d-%02d is before the Gregorian calendar was adopted in Japan (1873-01-01)", y, m, d)
	}
	for _, e := range eras {
		if !c.before(e.start) {
			return Date{Era: e, Year: y - e.start.Year + 1, Month: m, Day: d}, nil
		}
	}
	// Unreachable: gregorianAdoption lies within 明治.
	return Date{}, fmt.Errorf("wareki: no era for %04d-%02d-%02d", y, m, d)
}

// YearString is the era and year, e.g. 令和8年 or 令和元年.
func (d Date) YearString() string {
	if d.Year == 1 {
		return d.Era.Name + "元年"
	}
	return fmt.Sprintf("%s%d年", d.Era.Name, d.Year)
}

// String is the usual written form, e.g. 令和8年11月22日.
func (d Date) String() string {
	return fmt.Sprintf("%s%d月%d日", d.YearString(), int(d.Month), d.Day)
}

// Short is the abbreviated form used in forms and file names, e.g. R8.11.22.
func (d Date) Short() string {
	return fmt.Sprintf("%s%d.%d.%d", d.Era.Initial, d.Year, int(d.Month), d.Day)
}

// Format renders t as 和暦 (e.g. 令和8年11月22日), or as an ISO date when t
// lies before the Gregorian calendar was adopted.
func Format(t time.Time) string {
	d, err := Of(t)
	if err != nil {
		return t.Format(time.DateOnly)
	}
	return d.String()
}
