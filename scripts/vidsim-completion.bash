# vidsim-completion.bash - bash completion for vidsim: commands, `index` subcommands,
# each command's options (as `vidsim COMMAND --help` lists them), choices of options
# that take a fixed set of values, and file names otherwise.
# Installed as share/bash-completion/completions/vidsim; or: source scripts/vidsim-completion.bash

_vidsim() {
    local cur prev cmd sub i w
    COMPREPLY=()
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    local commands="calibrate compare dedup eval extract index pca search serve thumbs train train-clip train-gvec train-hash verdict version"
    local index_cmds="add rm ls verify rebuild info hash background compress"

    cmd="" sub=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if [[ -z $cmd ]]; then
            [[ $w != -* ]] && cmd=$w
        elif [[ $cmd == index && -z $sub && " $index_cmds " == *" $w "* ]]; then
            sub=$w
        fi
    done

    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$commands --help" -- "$cur"))
        return
    fi

    # values of options that take one
    case $prev in
        --backbone) COMPREPLY=($(compgen -W "inception mobilenet" -- "$cur")); return ;;
        --format)
            case $cmd in
                compare) COMPREPLY=($(compgen -W "text json" -- "$cur")) ;;
                eval) COMPREPLY=($(compgen -W "text json csv" -- "$cur")) ;;
                *) COMPREPLY=($(compgen -W "csv jsonl" -- "$cur")) ;;
            esac
            return ;;
        --direction) COMPREPLY=($(compgen -W "sym q2r" -- "$cur")); return ;;
        --precision) COMPREPLY=($(compgen -W "fp32 int8 bf16" -- "$cur")); return ;;
        --mirror-view|--inset-view|--norm) COMPREPLY=($(compgen -W "on off" -- "$cur")); return ;;
        --first-stage) COMPREPLY=($(compgen -W "hash gvec gvec:flat" -- "$cur")); return ;;
        --sim-precision) COMPREPLY=($(compgen -W "bf16 fp32" -- "$cur")); return ;;
        --hash-model) COMPREPLY=($(compgen -W "lsh64 lsh128 lsh256" -- "$cur") $(compgen -f -- "$cur")); return ;;
        --model)
            if [[ $cmd == search || $cmd == compare || $cmd == dedup ]]; then
                COMPREPLY=($(compgen -W "visil_f clip clip:mean" -- "$cur") $(compgen -f -- "$cur"))
                return
            fi ;;
        --bits) COMPREPLY=($(compgen -W "64 128 256" -- "$cur")); return ;;
        --stage) COMPREPLY=($(compgen -W "predmae fcs both" -- "$cur")); return ;;
        --mode) COMPREPLY=($(compgen -W "bank online" -- "$cur")); return ;;
        --freeze) COMPREPLY=($(compgen -W "none attention comparator" -- "$cur")); return ;;
        --init) COMPREPLY=($(compgen -W "random chamfer" -- "$cur") $(compgen -f -- "$cur")); return ;;
        --pool) COMPREPLY=($(compgen -W "cls mean" -- "$cur")); return ;;
        --fivr-version) COMPREPLY=($(compgen -W "200k 5k" -- "$cur")); return ;;
        --ties) COMPREPLY=($(compgen -W "input pessimistic" -- "$cur")); return ;;
        --index | -o | --out | --videos | --features | --thumbs)
            COMPREPLY=($(compgen -d -- "$cur") $(compgen -f -- "$cur")); return ;;
        -j | --threads | --top | --top-k | --threshold | --fps | --dim | --eps | --iters | --batch | \
        --lr | --warmup | --seed | --every | --checkpoint-every | --stop-after | --frames | \
        --layers | --views | --clip | --max-frames | --at | --size | --gvec-segments)
            return ;; # a number or a list: nothing to offer
    esac

    if [[ $cmd == index && -z $sub ]]; then
        COMPREPLY=($(compgen -W "$index_cmds --help" -- "$cur"))
        return
    fi

    local opts=""
    case $cmd in
        compare) opts="--model --backbone --precision --pca --png --thumbs --format" ;;
        thumbs) opts="--at -o --size" ;;
        dedup) opts="--index --threshold --format --model -j --allow-partial --groups --hide-rejected" ;;
        serve) opts="--index --listen --token-file -j --max-upload --allow-dir --upload-dir" ;;
        eval) opts="--gt --pred --queries --format --segments --dataset --all-db --fivr-version --fivr-audio
                    --distractors --ties" ;;
        extract) opts="-o --out --fps --backbone --precision --calib --pca --layers --raw -j --threads --force --timing --mirror-view --inset-view" ;;
        calibrate) opts="-o --out --backbone --frames --percentile --fps --threads" ;;
        pca) opts="--videos --features -o --dim --eps --backbone --layers -j" ;;
        search) opts="--index --top --threshold --format --model --pca --calib --direction -j --allow-partial --explain
                      --two-stage --top-k --hash-only --hash-model --first-stage --gvec-segments --store-gvec
                      --sim-precision --mirror-view --inset-view --timing --segments --norm" ;;
        train) opts="--videos --index -o --iters --batch --lr --warmup --lambda --calib --freeze --mode --views
                     --max-frames --clip --init --seed -j --checkpoint-every --resume --bank --log --stop-after
                     --no-overlays --copy-edits --backbone --pca" ;;
        train-clip) opts="--features --index -o --stage --iters --batch --lr --seg-clips --margin --clip-weight
                          --shotmix --pip --mask-ratio --mse --width --depth --heads --pool --seed --every
                          --views -j --resume --log" ;;
        train-gvec) opts="--videos -o --bank --pairs --shrink --fold-pca --copy-edits --max-frames --seed --backbone --pca --no-overlays -j" ;;
        train-hash) opts="--features --videos -o --bits --iters --batch --lr --warmup --frames --mask-ratio
                          --alpha --no-jitter --enc-dim --enc-depth --enc-heads --dec-dim --dec-depth
                          --dec-heads --seed --every --resume --log" ;;
        index)
            case $sub in
                add) opts="--index -j --backbone --precision --pca --calib --raw --fps --threads --force -v --hash-model --no-background --no-compress --timing" ;;
                ls) opts="--index --format" ;;
                verify) opts="--index --repair" ;;
                hash) opts="--index --hash-model -j --force" ;;
                background) opts="--index --model --direction -j --force" ;;
                compress) opts="--index --codec --train-max" ;;
                *) opts="--index" ;;
            esac ;;
        version) opts="" ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$opts --help" -- "$cur"))
    else
        COMPREPLY=($(compgen -f -- "$cur"))
        compopt -o filenames 2>/dev/null
    fi
}
complete -o filenames -F _vidsim vidsim
