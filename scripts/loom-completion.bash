# bash completion for loom: commands, then each command's options as its
# own --help lists them (read when asked, so never out of date), files
# for the rest. Installed to share/bash-completion/completions/loom.
_loom() {
    local cur=${COMP_WORDS[COMP_CWORD]} cmd="" i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${COMP_WORDS[i]} in
            --max-memory) ((i++)) ;;
            -*) ;;
            *) cmd=${COMP_WORDS[i]}; break ;;
        esac
    done
    if [ -z "$cmd" ]; then
        COMPREPLY=($(compgen -W "info run devices partition validate quantize boards sim dse bench help --help --version --max-memory" -- "$cur"))
        return
    fi
    case $cmd in
        help) COMPREPLY=($(compgen -W "info run devices partition validate quantize boards sim dse bench" -- "$cur")); return ;;
        sim) [ "$COMP_CWORD" -eq $((i + 1)) ] && { COMPREPLY=($(compgen -W "gemm" -- "$cur")); return; }; cmd="sim gemm" ;;
        boards) [[ $cur != -* ]] && { COMPREPLY=($(compgen -W "$(${COMP_WORDS[0]} boards 2>/dev/null | awk 'NR > 1 && /^[a-z0-9]/ && !/^energy tables/ {print $1}')" -- "$cur")); return; } ;;
    esac
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(${COMP_WORDS[0]} $cmd --help 2>/dev/null | grep -oE -- '--[a-z][a-z-]*' | sort -u)" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
}
complete -o filenames -F _loom loom
