// Package examples embeds the bundled example municipalities so that the
// binary can run its demo and checks without the source tree.
package examples

import "embed"

// FS holds the example models, one directory each (kakuu-city, small-town),
// and the example city's assessment files (kakuu-city-assessment), which
// `kyojin serve --demo` shows.
//
//go:embed kakuu-city small-town kakuu-city-assessment
var FS embed.FS
