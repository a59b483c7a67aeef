"""``kubectl pss completion bash|zsh|fish``: a shell completion script for the ``kubectl-pss`` command.

The scripts ask the program itself (``kubectl-pss __complete WORDS...``, cobra's protocol, see
``kubectl_pss.completion``), so they never go stale. ``kubectl pss <TAB>`` through kubectl's own
completion needs ``kubectl_complete-pss`` on PATH instead (README, "Shell completion").
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from ..completion import SHELLS

EXAMPLES = """
# bash (zsh alike); for `kubectl pss <TAB>`, put kubectl_complete-pss on your PATH (kubectl 1.26+)
source <(kubectl-pss completion bash)

# fish
kubectl-pss completion fish | source
"""
EXIT_CODES = ((0, 'the script was printed'),)


BASH = r'''# bash completion for kubectl-pss.  Load it with:  source <(kubectl-pss completion bash)
__kubectl_pss_complete() {
    local line=${COMP_LINE:0:COMP_POINT}
    local -a words
    read -ra words <<< "$line"
    [[ $line == *[[:space:]] ]] && words+=("")
    local cur=${words[${#words[@]}-1]}
    local -a lines
    mapfile -t lines < <("${words[0]}" __completeNoDesc "${words[@]:1}" 2>/dev/null)
    local n=${#lines[@]}
    (( n > 0 )) || return 0
    local last=${lines[n-1]}
    [[ $last == :* ]] || return 0
    local directive=${last#:}
    unset 'lines[n-1]'
    COMPREPLY=()
    (( directive & 1 )) && return 0
    (( directive & 2 )) && compopt -o nospace
    if (( directive & 8 )); then  # the candidates are file extensions
        compopt -o filenames
        local f ext
        while IFS= read -r f; do
            if [[ -d $f ]]; then COMPREPLY+=("$f"); continue; fi
            for ext in "${lines[@]}"; do [[ $f == *."$ext" ]] && COMPREPLY+=("$f") && break; done
        done < <(compgen -f -- "$cur")
        return 0
    fi
    if (( directive & 16 )); then
        compopt -o filenames
        mapfile -t COMPREPLY < <(compgen -d -- "$cur")
        return 0
    fi
    local c
    for c in "${lines[@]}"; do [[ $c == "$cur"* ]] && COMPREPLY+=("$c"); done
    # bash replaces only the part of the word after its last = or : (COMP_WORDBREAKS).
    if [[ $cur == *[=:]* ]]; then
        local prefix=${cur%"${cur##*[=:]}"}
        COMPREPLY=("${COMPREPLY[@]#"$prefix"}")
    fi
    (( ${#COMPREPLY[@]} == 0 && (directive & 4) )) && compopt +o default
    return 0
}
complete -o default -F __kubectl_pss_complete kubectl-pss
'''

ZSH = r'''#compdef kubectl-pss
# zsh completion for kubectl-pss.  Load it with:  source <(kubectl-pss completion zsh)
_kubectl_pss() {
    local -a lines candidates
    local directive line
    lines=("${(@f)$(${words[1]} __complete "${(@)words[2,CURRENT-1]}" "${words[CURRENT]}" 2>/dev/null)}")
    (( ${#lines} )) || return 1
    [[ ${lines[-1]} == :* ]] || return 1
    directive=${lines[-1]#:}
    lines=("${(@)lines[1,-2]}")
    (( directive & 1 )) && return 1
    if (( directive & 8 )); then
        _files -g "*.(${(j:|:)lines})"
        return
    fi
    if (( directive & 16 )); then
        _files -/
        return
    fi
    for line in $lines; do
        [[ -n $line ]] || continue
        if [[ $line == *$'\t'* ]]; then
            candidates+=("${${line%%$'\t'*}//:/\\:}:${line#*$'\t'}")
        else
            candidates+=("${line//:/\\:}")
        fi
    done
    if (( ${#candidates} )); then
        local -a opts
        (( directive & 2 )) && opts+=(-S '')
        (( directive & 32 )) && opts+=(-V kubectl-pss)
        _describe 'kubectl-pss' candidates $opts
        return
    fi
    (( directive & 4 )) || _files
}
compdef _kubectl_pss kubectl-pss
'''

FISH = r'''# fish completion for kubectl-pss.  Load it with:  kubectl-pss completion fish | source
function __kubectl_pss_prepare
    set -l args (commandline -opc)
    set -l current (commandline -ct)
    set -g __kubectl_pss_results (command $args[1] __complete $args[2..-1] $current 2>/dev/null)
    set -g __kubectl_pss_directive 1
    if test (count $__kubectl_pss_results) -gt 0; and string match -qr '^:[0-9]+$' -- $__kubectl_pss_results[-1]
        set __kubectl_pss_directive (string sub -s 2 -- $__kubectl_pss_results[-1])
        set -e __kubectl_pss_results[-1]
    end
    set -l d $__kubectl_pss_directive
    # error, or file extensions / directories to filter on: let fish complete files
    if test (math "$d % 2") -eq 1; or test (math "floor($d / 8) % 2") -eq 1; or test (math "floor($d / 16) % 2") -eq 1
        set -g __kubectl_pss_results
        return 1
    end
    if test (count $__kubectl_pss_results) -gt 0
        return 0
    end
    # no candidates: files unless the program said no file completion (4)
    test (math "floor($d / 4) % 2") -eq 1
end
complete -c kubectl-pss -f -n __kubectl_pss_prepare -a '$__kubectl_pss_results'
'''

SCRIPTS = {"bash": BASH, "zsh": ZSH, "fish": FISH}


@dataclass
class CompletionOptions:
    shell: str


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("shell", choices=SHELLS, help="bash, zsh or fish")


def complete(args: argparse.Namespace) -> CompletionOptions:
    return CompletionOptions(shell=args.shell)


def validate(options: CompletionOptions) -> None:
    pass


def run(options: CompletionOptions) -> int:
    sys.stdout.write(SCRIPTS[options.shell])
    return 0
