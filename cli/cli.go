// Package cli holds the kyojin command registry and one file per subcommand.
// Each command carries its own help text, parses its own flags and returns an
// error; Main turns errors into exit codes (0 ok, 1 findings/failure, 2 bad
// input or usage).
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
)

// Env is what a command gets from the process: streams, logger and language.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	Log    *slog.Logger
	Lang   string // "ja" (default) or "en"
}

// Command is one subcommand.
type Command struct {
	Name  string
	Usage string // argument synopsis, e.g. "[flags] PATH"
	Short string // one line, Japanese
	Long  string // full help, shown by "kyojin help NAME"
	// Flags declares the command's flags on fs; it may be nil.
	Flags func(fs *flag.FlagSet)
	// Subcommands: flags after the first argument belong to a subcommand and
	// are passed through unparsed.
	Subcommands bool
	Run         func(env *Env, fs *flag.FlagSet, args []string) error
}

var registry = map[string]*Command{}

// register adds c to the registry; called from each command file's init.
func register(c *Command) {
	if _, dup := registry[c.Name]; dup {
		panic("cli: duplicate command " + c.Name)
	}
	registry[c.Name] = c
}

// ExitError carries an exit status with an error.
type ExitError struct {
	Code int
	Err  error
	Hint string // "Try: ..." line, optional
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}
func (e *ExitError) Unwrap() error { return e.Err }

// usageError reports a command-line mistake (exit status 2).
func usageError(format string, args ...any) error {
	return &ExitError{Code: 2, Err: fmt.Errorf(format, args...)}
}

// Main runs the command line and returns the process exit status.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &Env{Stdin: stdin, Stdout: stdout, Stderr: stderr, Lang: "ja"}
	if l := os.Getenv("KYOJIN_LANG"); l == "en" {
		env.Lang = "en"
	}
	level := slog.LevelWarn
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch {
		case args[0] == "--lang=en" || args[0] == "-lang=en":
			env.Lang = "en"
		case args[0] == "--lang=ja" || args[0] == "-lang=ja":
			env.Lang = "ja"
		case args[0] == "-v" || args[0] == "--verbose":
			level = slog.LevelDebug
		case args[0] == "-h" || args[0] == "--help":
			args = []string{"help"}
			continue
		default:
			fmt.Fprintf(stderr, "kyojin: unknown global flag %s\n", args[0])
			return 2
		}
		args = args[1:]
	}
	env.Log = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if len(args) == 0 {
		writeOverview(env)
		return 2
	}
	cmd, ok := registry[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "kyojin: unknown command %q\nTry: kyojin help\n", args[0])
		return 2
	}
	fs := flag.NewFlagSet(cmd.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if cmd.Flags != nil {
		cmd.Flags(fs)
	}
	var positional []string
	var err error
	if cmd.Subcommands {
		// Flags before the subcommand are the command's; the subcommand parses the rest.
		if err = fs.Parse(args[1:]); err == nil {
			positional = fs.Args()
		}
	} else {
		positional, err = parseInterspersed(fs, args[1:])
	}
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeHelp(env.Stdout, cmd)
			return 0
		}
		fmt.Fprintf(stderr, "Error: %v\nTry: kyojin help %s\n", err, cmd.Name)
		return 2
	}
	err = cmd.Run(env, fs, positional)
	if err == nil {
		return 0
	}
	code := 1
	var ee *ExitError
	if errors.As(err, &ee) {
		code = ee.Code
		if ee.Err == nil {
			return code
		}
	}
	fmt.Fprintf(stderr, "Error: %v\n", err)
	if ee != nil && ee.Hint != "" {
		fmt.Fprintf(stderr, "Try: %s\n", ee.Hint)
	} else if code == 2 {
		fmt.Fprintf(stderr, "Try: kyojin help %s\n", cmd.Name)
	}
	return code
}

// parseInterspersed lets flags follow positional arguments
// ("kyojin check DIR -o report.html"); "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return positional, nil
		}
		if len(args) > 0 && len(rest) < len(args) && args[len(args)-len(rest)-1] == "--" {
			return append(positional, rest...), nil
		}
		positional = append(positional, rest[0])
		args = rest[1:]
	}
}

func sortedCommands() []*Command {
	cmds := make([]*Command, 0, len(registry))
	for _, c := range registry {
		cmds = append(cmds, c)
	}
	slices.SortFunc(cmds, func(a, b *Command) int { return strings.Compare(a.Name, b.Name) })
	return cmds
}

func writeOverview(env *Env) {
	w := env.Stdout
	fmt.Fprintln(w, "kyojin — 地方公共団体の情報セキュリティ（三層の対策）を一つのモデルで扱うツール")
	fmt.Fprintln(w, "\n使い方: kyojin [--lang=en] COMMAND [flags] [args]\n\nコマンド:")
	for _, c := range sortedCommands() {
		fmt.Fprintf(w, "  %-12s %s\n", c.Name, c.Short)
	}
	fmt.Fprintln(w, "\n詳細: kyojin help COMMAND")
}

func writeHelp(w io.Writer, c *Command) {
	fmt.Fprintf(w, "使い方: kyojin %s %s\n\n%s\n", c.Name, c.Usage, c.Short)
	if c.Long != "" {
		fmt.Fprintf(w, "\n%s\n", strings.TrimSpace(c.Long))
	}
	fs := flag.NewFlagSet(c.Name, flag.ContinueOnError)
	if c.Flags != nil {
		c.Flags(fs)
	}
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n > 0 {
		fmt.Fprintln(w, "\nフラグ:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}
