"""Lesson 06 §5 (Ollama: the same model as a GGUF file): the cached GGUF files and the student's ``Modelfile``
(exercise 4), parsed as Ollama reads it, and, when Ollama is installed and running, creating the model and asking
it a prompt. Ollama's reference for the file: https://github.com/ollama/ollama/blob/main/docs/modelfile.md
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from transformers import PreTrainedModel

from course.languages import say
from course.lessons.edge.gguf import PRECISIONS, write_gguf

OLLAMA_URL = "http://127.0.0.1:11434"


@dataclass(frozen=True)
class ParsedModelfile:
    """What Ollama reads from a ``Modelfile``: the weights (``FROM``), the prompt ``TEMPLATE`` and every
    ``PARAMETER`` (a name may repeat, as ``stop`` does)."""

    source: str | None
    template: str | None
    parameters: dict[str, list[str]]


_TRIPLE = '"""'


def _value(rest: str, lines: list[str], index: int) -> tuple[str, int]:
    """One instruction's value, with Ollama's quoting: ``\"\"\"`` spans lines, ``"..."`` holds one line's text."""
    rest = rest.strip()
    if rest.startswith(_TRIPLE):
        body = rest[3:]
        while _TRIPLE not in body:
            index += 1
            if index >= len(lines):
                raise ValueError('A """ in the Modelfile is never closed; end the value with """.')
            body += "\n" + lines[index]
        return body[: body.index(_TRIPLE)], index
    if len(rest) >= 2 and rest[0] == rest[-1] == '"':
        return rest[1:-1], index
    return rest, index


def parse_modelfile(text: str) -> ParsedModelfile:
    """Parse a ``Modelfile`` (``FROM``, ``TEMPLATE``, ``PARAMETER``; other instructions are read and ignored;
    comments start with ``#``). Instructions are case-insensitive, as in Ollama."""
    lines = text.splitlines()
    source: str | None = None
    template: str | None = None
    parameters: dict[str, list[str]] = {}
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        if line and not line.startswith("#"):
            command, _, rest = line.partition(" ")
            value, index = _value(rest, lines, index)
            command = command.upper()
            if command == "FROM":
                source = value
            elif command == "TEMPLATE":
                template = value
            elif command == "PARAMETER":
                name, _, argument = value.strip().partition(" ")
                parameters.setdefault(name.lower(), []).append(_value(argument, [argument], 0)[0])
        index += 1
    return ParsedModelfile(source, template, parameters)


def render_template(template: str | None, prompt: str) -> str:
    """The text a ``TEMPLATE`` sends to the model for a user's ``prompt``: Ollama's Go template, reduced to the
    one field a completion model needs (``{{ .Prompt }}``); any other ``{{ ... }}`` is refused."""
    import re

    if template is None:
        raise ValueError("The Modelfile has no TEMPLATE; add one that places {{ .Prompt }} in the training format.")
    fields = re.findall(r"{{-?\s*(.*?)\s*-?}}", template)
    if set(fields) - {".Prompt"}:
        raise ValueError(f"Only {{{{ .Prompt }}}} is rendered here, not {sorted(set(fields) - {'.Prompt'})}.")
    return re.sub(r"{{-?\s*\.Prompt\s*-?}}", lambda _: prompt, template)


def jinja_template(template: str | None) -> str:
    """A Modelfile ``TEMPLATE`` as the Jinja chat template GGUF files store (``tokenizer.chat_template``): the
    user's text is the last message's content."""
    return render_template(template, "{{ messages[-1]['content'] }}")


def export_for_ollama(model: PreTrainedModel, tokenizer, modelfile_text: str, name: str = "task-model") -> Path:
    """A cached folder holding ``model`` as GGUF files (f32, Q8_0, Q4_0) and ``modelfile_text`` as its
    ``Modelfile`` (which names one of them in ``FROM``). Each GGUF file also stores the Modelfile's ``TEMPLATE`` as
    its chat template, so that a runtime reading only the file formats prompts as in training."""
    import hashlib

    from course.cache import cached_folder
    from course.lessons.edge.export import fingerprint

    chat_template = jinja_template(parse_modelfile(modelfile_text).template)

    def build(folder: Path) -> None:
        for precision in PRECISIONS:
            path = folder / gguf_name(name, precision)
            write_gguf(model, tokenizer, path, precision, name=name, chat_template=chat_template)
        (folder / "Modelfile").write_text(modelfile_text)

    settings = hashlib.sha256(json.dumps([modelfile_text, name]).encode()).hexdigest()[:8]
    return cached_folder(f"ollama-{name}-v2-{fingerprint(model)}-{settings}", build)


def gguf_name(name: str, precision: str) -> str:
    """The file name of ``name``'s GGUF file at ``precision`` (``task-model.q8_0.gguf``)."""
    return f"{name}.{precision}.gguf"


def find_ollama() -> str | None:
    """The path of the ``ollama`` command, or None when it is not installed."""
    return shutil.which("ollama")


def ollama_server_running(url: str = OLLAMA_URL, timeout: float = 1.0) -> bool:
    """Whether an Ollama server answers on this machine."""
    try:
        with urllib.request.urlopen(f"{url}/api/version", timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def how_to_install_ollama() -> str:
    """What to do when there is no ``ollama`` command."""
    return say("edge.install_ollama")


def ollama_create_and_generate(folder: str | Path, model_name: str, prompt: str, timeout: float = 120) -> dict:
    """``ollama create`` the model from ``folder/Modelfile``, then generate for ``prompt`` (local API).

    Returns Ollama's reply and its own counters: ``eval_count`` generated tokens in ``eval_duration``
    nanoseconds, so ``tokens_per_second`` is the eval rate ``ollama run --verbose`` prints."""
    binary = find_ollama()
    if binary is None:
        raise FileNotFoundError(how_to_install_ollama())
    if not ollama_server_running():
        raise ConnectionError("`ollama` is installed but no server answers: start it with `ollama serve`.")
    command = [binary, "create", model_name, "-f", "Modelfile"]
    subprocess.run(command, cwd=folder, check=True, capture_output=True, timeout=timeout)
    body = json.dumps({"model": model_name, "prompt": prompt, "stream": False}).encode()
    request = urllib.request.Request(f"{OLLAMA_URL}/api/generate", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read())
    seconds = reply.get("eval_duration", 0) / 1e9
    rate = reply.get("eval_count", 0) / seconds if seconds else float("nan")
    return {"response": reply["response"], "tokens_per_second": rate}
