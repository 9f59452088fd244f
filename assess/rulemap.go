package assess

// RuleClauses maps every check rule to the catalog entries it proves violated.
// A finding of the rule overrides a self-declared 実施 of these entries (and
// of their sub-clauses). The check package cites clauses in the guideline's
// prose form ("参考5 2①", "3 解説（βモデル）"); this table resolves them to
// catalog IDs. TestRuleClausesCoverEveryRule keeps it complete and valid.
var RuleClauses = map[string][]string{
	"ZONE-001": {"3(1)①", "3(2)①", "R5-01①", "R5-05①"},
	"ZONE-002": {"R5-01①", "R5-05①"},

	"MN-001": {"3(1)①", "R5-02①"},
	"MN-002": {"3(1)①", "R5-02①"},
	"MN-003": {"3(1)①", "R5-02①"},
	"MN-004": {"3(1)①", "R5-02②"},
	"MN-005": {"3(1)①", "R5-02①"},
	"MN-006": {"3(1)①", "R5-02②"},
	"MN-007": {"3(1)@R2.12"},
	"MN-008": {"3(1)②(ア)", "R5-03②"},
	"MN-009": {"3(1)②(イ)", "R5-04①"},
	"MN-010": {"R5-03①"},
	"MN-011": {"R5-03③", "6.1(6)"},
	"MN-012": {"2(1)", "3(1)①"},

	"LG-001": {"3(2)①", "R5-06②"},
	"LG-002": {"3(2)①", "R5-06②"},
	"LG-003": {"3(2)①", "3@R7.3"},
	"LG-004": {"3(2)①(ア)"},
	"LG-005": {"3(2)①", "3(3)①"},

	"INT-001": {"3(3)②"},
	"INT-002": {"3(3)①"},

	"MODEL-001": {"3(2)①"},
	"BETA-001":  {"3(2)@R2.12", "2(1)"},
	"BETA-002":  {"3(2)@R2.12", "6.4(2)"},
	"BETA-003":  {"3(2)@R2.12", "R5-10③"},
	"BP-001":    {"3(2)@R2.12", "6.1(6)"},
	"BP-002":    {"3(2)@R2.12", "9.1(1)"},

	"ORG-001": {"1(3)", "1(4)"},
	"ORG-002": {"1(5)"},
	"ORG-003": {"1(1)③", "1(9)"},
}
