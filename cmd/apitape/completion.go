package main

// Shell completion scripts, generated from the command table and from the
// flag sets the commands really parse: each command is run with a streams
// whose flagSpy takes the flag set at parseFlags and stops the command
// there, before it opens a file or starts anything.

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/pflag"
)

// subcommands are the second words a command takes. A test runs each with
// --help, so a name here that the command does not know fails the tests.
var subcommands = map[string][]string{
	"capture":    {"browser", "proxy"},
	"ca":         {"init", "path", "export"},
	"demo":       {"serve"},
	"completion": {"bash", "zsh", "fish"},
}

// compFlag is one flag as completion offers it.
type compFlag struct {
	long, short, usage string
	file               bool // takes a file name
}

// compCommand is a command or a command and subcommand ("capture browser").
type compCommand struct {
	path    []string
	summary string
	flags   []compFlag // a command with subcommands: its own (demo --dir)
	subs    []string   // for a command with subcommands: their names
}

// completionTable collects every command's flags by running it up to its
// flag parsing.
func completionTable() []compCommand {
	var out []compCommand
	for _, c := range commands() {
		subs := subcommands[c.name]
		out = append(out, compCommand{path: []string{c.name}, summary: c.summary, subs: subs, flags: commandFlags(c, nil)})
		for _, s := range subs {
			out = append(out, compCommand{path: []string{c.name, s}, flags: commandFlags(c, []string{s})})
		}
	}
	return out
}

// commandFlags runs c with args and --help under a flag spy and returns the
// flags of the set it parses (none if it parses none).
func commandFlags(c *command, args []string) []compFlag {
	var fs *pflag.FlagSet
	st := &streams{in: strings.NewReader(""), out: io.Discard, err: io.Discard, getenv: func(string) string { return "" },
		flagSpy: func(f *pflag.FlagSet) { fs = f }}
	c.run(context.Background(), st, append(slices.Clone(args), "--help"))
	if fs == nil {
		return nil
	}
	var flags []compFlag
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		flags = append(flags, compFlag{
			long:  f.Name,
			short: f.Shorthand,
			usage: f.Usage,
			file:  takesFile(f),
		})
	})
	flags = append(flags, compFlag{long: "help", short: "h", usage: "show this help"})
	return flags
}

// takesFile guesses from a string flag's name and help whether its value is
// a file name, for file completion after it.
func takesFile(f *pflag.Flag) bool {
	if f.Value.Type() != "string" {
		return false
	}
	u := strings.ToLower(f.Usage)
	return f.Name == "output" || strings.Contains(f.Name, "file") || strings.Contains(f.Name, "dir") ||
		f.Name == "report" || f.Name == "state" || f.Name == "browser" || f.Name == "profile" || f.Name == "steps" ||
		strings.Contains(u, "file") || strings.Contains(u, "directory")
}

const completionUsage = `Usage:
    apitape completion bash|zsh|fish

Prints a completion script for the shell: command names, subcommands and
each command's flags.

    source <(apitape completion bash)                               # bash, this session
    apitape completion bash > /etc/bash_completion.d/apitape          # bash, for good
    apitape completion zsh > "${fpath[1]}/_apitape"                   # zsh (then compinit)
    apitape completion fish > ~/.config/fish/completions/apitape.fish # fish
`

func runCompletion(ctx context.Context, st *streams, args []string) error {
	fs := newFlagSet("completion")
	if err := parseFlags(st, fs, completionUsage, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("completion takes one shell: bash, zsh or fish")
	}
	switch fs.Arg(0) {
	case "bash":
		writeBashCompletion(st.out, completionTable())
	case "zsh":
		writeZshCompletion(st.out, completionTable())
	case "fish":
		writeFishCompletion(st.out, completionTable())
	default:
		return usageErrorf("unknown shell %q: want bash, zsh or fish", fs.Arg(0))
	}
	return nil
}

// flagWords lists a command's flags as the shell offers them, both
// spellings; with files, only those whose value is a file.
func flagWords(c compCommand, files bool) []string {
	var w []string
	for _, f := range c.flags {
		if files && !f.file {
			continue
		}
		w = append(w, "--"+f.long)
		if f.short != "" {
			w = append(w, "-"+f.short)
		}
	}
	return w
}

func topWords(table []compCommand) []string {
	var w []string
	for _, c := range table {
		if len(c.path) == 1 {
			w = append(w, c.path[0])
		}
	}
	return w
}

// The scripts below only ever hold command and flag names, which are plain
// words: nothing in them needs quoting.

func writeBashCompletion(w io.Writer, table []compCommand) {
	fmt.Fprintf(w, `# bash completion for apitape (apitape completion bash)
# _apitape_files fills COMPREPLY with the file names that start with $1, one
# word each: a name with a space or a glob character stays whole, which
# COMPREPLY=($(compgen -f ...)) would split and expand.
_apitape_files() {
    local f
    COMPREPLY=()
    while IFS= read -r f; do
        COMPREPLY+=("$f")
    done < <(compgen -f -- "$1")
}
_apitape() {
    local cur prev cmd sub i
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    cmd= sub=
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
        -*) ;;
        *)
            if [[ -z $cmd ]]; then
                cmd=${COMP_WORDS[i]}
            elif [[ -z $sub ]]; then
                sub=${COMP_WORDS[i]}
            fi
            ;;
        esac
    done
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W '%s' -- "$cur"))
        return
    fi
    local words= files= subs=
    case $cmd in
`, strings.Join(append(topWords(table), "help"), " "))
	for _, c := range table {
		if len(c.path) != 1 {
			continue
		}
		fmt.Fprintf(w, "    %s)\n", c.path[0])
		fmt.Fprintf(w, "        words='%s' files='%s'\n", strings.Join(flagWords(c, false), " "), strings.Join(flagWords(c, true), " "))
		if len(c.subs) > 0 {
			fmt.Fprintf(w, "        subs='%s'\n        case $sub in\n", strings.Join(c.subs, " "))
			for _, s := range table {
				if len(s.path) == 2 && s.path[0] == c.path[0] {
					fmt.Fprintf(w, "        %s) words='%s' files='%s' ;;\n", s.path[1], strings.Join(flagWords(s, false), " "), strings.Join(flagWords(s, true), " "))
				}
			}
			fmt.Fprintf(w, "        esac\n")
		}
		fmt.Fprintf(w, "        ;;\n")
	}
	fmt.Fprintf(w, `    help)
        words='%s'
        ;;
    esac
    if [[ -n $subs && -z $sub && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
    elif [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    elif [[ " $files " == *" $prev "* ]]; then
        _apitape_files "$cur"
    elif [[ $cmd == help ]]; then
        COMPREPLY=($(compgen -W "$words" -- "$cur"))
    else
        _apitape_files "$cur"
    fi
}
complete -o filenames -o bashdefault -F _apitape apitape
`, strings.Join(topWords(table), " "))
}

func writeZshCompletion(w io.Writer, table []compCommand) {
	fmt.Fprintf(w, "#compdef apitape\n# zsh completion for apitape (apitape completion zsh)\n_apitape() {\n")
	fmt.Fprintf(w, "    local -a cmds flags subs\n    cmds=(\n")
	for _, c := range table {
		if len(c.path) == 1 {
			fmt.Fprintf(w, "        %s\n", zshQuote(c.path[0]+":"+c.summary))
		}
	}
	// help is no entry of the command table; bash and fish offer it too.
	fmt.Fprintf(w, "        %s\n", zshQuote("help:usage and examples"))
	fmt.Fprintf(w, "    )\n    if (( CURRENT == 2 )); then\n        _describe command cmds\n        return\n    fi\n")
	fmt.Fprintf(w, "    case $words[2] in\n")
	for _, c := range table {
		if len(c.path) != 1 {
			continue
		}
		fmt.Fprintf(w, "    %s)\n", c.path[0])
		fmt.Fprintf(w, "        flags=(%s)\n", strings.Join(flagWords(c, false), " "))
		if len(c.subs) > 0 {
			fmt.Fprintf(w, "        if (( CURRENT == 3 )) && [[ $PREFIX != -* ]]; then\n            subs=(%s)\n            compadd -a subs\n            return\n        fi\n", strings.Join(c.subs, " "))
			fmt.Fprintf(w, "        case $words[3] in\n")
			for _, s := range table {
				if len(s.path) == 2 && s.path[0] == c.path[0] {
					fmt.Fprintf(w, "        %s) flags=(%s) ;;\n", s.path[1], strings.Join(flagWords(s, false), " "))
				}
			}
			fmt.Fprintf(w, "        esac\n")
		}
		fmt.Fprintf(w, "        ;;\n")
	}
	fmt.Fprintf(w, `    help)
        _describe command cmds
        return
        ;;
    esac
    if [[ $PREFIX == -* ]]; then
        compadd -a flags
    else
        _files
    fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _apitape "$@"
else
    compdef _apitape apitape
fi
`)
}

// zshQuote single-quotes s for zsh.
func zshQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func writeFishCompletion(w io.Writer, table []compCommand) {
	fmt.Fprintf(w, "# fish completion for apitape (apitape completion fish)\ncomplete -c apitape -f\n")
	top := topWords(table)
	for _, c := range table {
		if len(c.path) == 1 {
			fmt.Fprintf(w, "complete -c apitape -n '__fish_use_subcommand' -a %s -d %s\n", c.path[0], fishQuote(c.summary))
		}
	}
	fmt.Fprintf(w, "complete -c apitape -n '__fish_use_subcommand' -a help -d 'usage and examples'\n")
	fmt.Fprintf(w, "complete -c apitape -n '__fish_seen_subcommand_from help' -a '%s'\n", strings.Join(top, " "))
	for _, c := range table {
		cond := "__fish_seen_subcommand_from " + c.path[0]
		if len(c.subs) > 0 {
			cond += "; and not __fish_seen_subcommand_from " + strings.Join(c.subs, " ")
			fmt.Fprintf(w, "complete -c apitape -n '%s' -a '%s'\n", cond, strings.Join(c.subs, " "))
		} else {
			if len(c.path) == 2 {
				cond += "; and __fish_seen_subcommand_from " + c.path[1]
			}
			// Arguments are files unless the command has subcommands.
			fmt.Fprintf(w, "complete -c apitape -n '%s' -F\n", cond)
		}
		for _, f := range c.flags {
			fmt.Fprintf(w, "complete -c apitape -n '%s' -l %s", cond, f.long)
			if f.short != "" {
				fmt.Fprintf(w, " -s %s", f.short)
			}
			if f.file {
				fmt.Fprintf(w, " -r -F")
			}
			fmt.Fprintf(w, " -d %s\n", fishQuote(f.usage))
		}
	}
}

// fishQuote single-quotes s for fish (backslash and quote escaped).
func fishQuote(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'"
}
