"""Command-line flags derived from the declaration of :class:`digit_denoise.Settings`: one flag per field,
with its help, choices and default, so that adding a setting never means editing the CLI."""

import dataclasses
import inspect
import typing
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer

from digit_denoise.config import Settings


# The options that `run` and `watch` share, declared once.
OutputDir = Annotated[Path, typer.Argument(file_okay=False, help="Folder for the results; created if needed.")]
ConfigFile = Annotated[
    Optional[Path],
    typer.Option("--config", "-c", exists=True, dir_okay=False, help="YAML settings; flags override it."),
]
LogFormat = Annotated[
    Literal["text", "json"], typer.Option(help="--log-file lines as text, or one JSON object per line.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]


def _flag(field):
    """``(annotation, typer.Option)`` for one settings field; every default is None, so that a flag that was
    not given leaves the config file's value (or the declared default) in place."""
    meta, dashed = field.metadata, field.name.replace("_", "-")
    names = [f"--{dashed}"] + ([f"-{meta['short']}"] if meta["short"] else [])
    shown = field.default
    if shown is None or isinstance(shown, bool):
        shown = str(shown).lower()
    elif isinstance(shown, tuple):
        shown = " ".join(map(str, shown)) or "none"
    # Rich would take a bare "[default: ...]" for markup and drop it: the bracket is escaped.
    options = {"help": f"{meta['help']} \\[default: {shown}]", "show_default": False,
               "rich_help_panel": "Settings (also in --config files)"}
    kind = typing.get_args(field.type)[0] if typing.get_origin(field.type) is typing.Union else field.type
    if kind is bool:
        names = [f"--{dashed}/--no-{dashed}"]
    elif meta["choices"]:
        kind = Literal[meta["choices"]]
    elif meta["kind"] is not None:
        kind = list[meta["kind"]]
        options["metavar"] = "PATTERN"
        options["help"] += " Give the flag once per pattern."
    elif kind is tuple:
        kind = tuple[float, float]
        options["metavar"] = "LOW HIGH"
    elif meta["minimum"] is not None:
        options["min"] = meta["minimum"]
    return Annotated[Optional[kind], typer.Option(*names, **options)]


def with_settings_flags(command):
    """Give ``command`` (which takes ``**settings``) one keyword-only flag per ``Settings`` field."""
    signature = inspect.signature(command)
    fixed = [p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD]
    derived = [
        inspect.Parameter(field.name, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=_flag(field))
        for field in dataclasses.fields(Settings)
    ]
    command.__signature__ = signature.replace(parameters=fixed + derived)
    command.__annotations__ = {**command.__annotations__, **{p.name: p.annotation for p in derived}}
    return command
