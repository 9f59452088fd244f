// Command kyojin is the single binary of the kyojin project: posture checks,
// sanitization, the mail relay, the console and the security cloud.
package main

import (
	"os"

	"github.com/kyojin/kyojin/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
