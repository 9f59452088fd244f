// Command gen writes the intake benchmark stream (package intakestream),
// one line per event, to standard output: gen -n 1000000 > stream.log
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"

	"github.com/kyojin/kyojin/bench/intakestream"
)

func main() {
	n := flag.Int("n", 1_000_000, "number of lines")
	flag.Parse()
	w := bufio.NewWriterSize(os.Stdout, 1<<20)
	// the stream cycles through 20,000 distinct lines, as the Go benchmark
	lines := intakestream.Lines(min(*n, 20_000))
	for i := range *n {
		w.Write(lines[i%len(lines)])
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
