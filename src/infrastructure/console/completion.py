"""``cml-fleet completion bash|zsh``: a completion script made from the command's own
parser, so it knows every command and option this release has.

    source <(cml-fleet completion bash)      # in ~/.bashrc
    source <(cml-fleet completion zsh)       # in ~/.zshrc
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

ZSH_PREFIX = "autoload -U +X bashcompinit && bashcompinit\n"


def tree(
    parser: argparse.ArgumentParser, path: str = "cml-fleet"
) -> Iterator[tuple[str, str, str]]:
    """(path, its subcommands, its options) for each command, depth first."""
    words: list[str] = []
    options = [o for a in parser._actions for o in a.option_strings if o.startswith("--")]
    children: list[tuple[str, argparse.ArgumentParser]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                words.append(name)
                children.append((name, child))
    yield path, " ".join(words), " ".join(options)
    for name, child in children:
        yield from tree(child, f"{path} {name}")


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    entries = list(tree(parser))
    words = "\n".join(f'  ["{p}"]="{w}"' for p, w, _ in entries)
    options = "\n".join(f'  ["{p}"]="{o}"' for p, _, o in entries)
    body = f"""# cml-fleet {shell} completion (cml-fleet completion {shell})
declare -gA _cml_fleet_words=(
{words}
)
declare -gA _cml_fleet_options=(
{options}
)
_cml_fleet() {{
  local cur="${{COMP_WORDS[COMP_CWORD]}}" path="cml-fleet" word i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word="${{COMP_WORDS[i]}}"
    case " ${{_cml_fleet_words[$path]}} " in
      *" $word "*) path="$path $word" ;;
    esac
  done
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "${{_cml_fleet_options[$path]}}" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "${{_cml_fleet_words[$path]}}" -- "$cur"))
  fi
}}
complete -o default -F _cml_fleet cml-fleet
"""
    return (ZSH_PREFIX if shell == "zsh" else "") + body
