"""``digit-denoise man``: the manual page, made from the commands' own help, so it cannot fall behind them."""

import typer

app = typer.Typer()


@app.command("man")
def manual():
    """Print a man page (roff) of every command and option; install it with: digit-denoise man > digit-denoise.1"""
    from digit_denoise import __version__

    from .app import app as root

    command = typer.main.get_command(root)
    lines = [f'.TH DIGIT-DENOISE 1 "" "digit-denoise {__version__}" "User Commands"', ".SH NAME",
             f"digit-denoise \\- {_roff(command.help or '')}", ".SH SYNOPSIS", ".B digit-denoise",
             "[\\-\\-version] [\\-\\-verbose] COMMAND [OPTIONS] [ARGUMENTS]", ".SH COMMANDS"]
    for name, sub in command.commands.items():
        if sub.hidden:
            continue
        lines += [f".SS {name}", _roff(sub.help or "")]
        for group in getattr(sub, "commands", {}).values():  # config show|check
            lines += [f".TP\n.B {name} {group.name}", _roff(group.help or "")]
        for param in sub.params:
            if param.name == "help":
                continue
            names = param.opts if param.param_type_name == "option" else [param.name.upper()]
            lines += [".TP", f".B {_roff(', '.join(names))}", _roff(getattr(param, "help", None) or "")]
    lines += [".SH EXIT STATUS", _roff(command.epilog or ""), ".SH SEE ALSO", "The README of digit-denoise."]
    typer.echo("\n".join(lines))


def _roff(text):
    """``text`` safe in roff: backslashes and hyphens escaped, no line starting with a dot."""
    text = " ".join(text.replace("\\[", "[").split()).replace("\\", "\\\\").replace("-", "\\-")
    return ("\\&" + text) if text.startswith((".", "'")) else text
