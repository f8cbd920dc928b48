"""Lesson 06 §7 (Ollama: the same model as a GGUF file): the cached GGUF files and ``Modelfile`` for
Ollama, and, when Ollama is installed and running, creating the model and asking it a prompt.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

from course.lessons.edge.gguf import PRECISIONS, write_gguf

OLLAMA_URL = "http://127.0.0.1:11434"


def modelfile(gguf_file: str, template: str = "{{ .Prompt }}", stop: tuple[str, ...] = (), num_ctx: int = 256) -> str:
    """An Ollama ``Modelfile``: the weights, a prompt template, greedy decoding and stop strings."""
    lines = [
        f"FROM ./{gguf_file}",
        f'TEMPLATE """{template}"""',
        "PARAMETER temperature 0",
        f"PARAMETER num_ctx {num_ctx}",
    ]
    lines += [f'PARAMETER stop "{s}"' for s in stop]
    return "\n".join(lines) + "\n"


def export_for_ollama(
    model: torch.nn.Module, tokenizer, template: str, stop: tuple[str, ...] = ("</s>",), name: str = "task-model"
) -> Path:
    """A cached folder holding ``model`` as f32 and Q8_0 GGUF files and a ``Modelfile`` for the Q8_0 one."""
    import hashlib

    from course.cache import cached_folder
    from course.lessons.edge.export import fingerprint

    def build(folder: Path) -> None:
        for precision in PRECISIONS:
            write_gguf(model, tokenizer, folder / f"{name}.{precision}.gguf", precision, name=name)
        num_ctx = model.config.max_position_embeddings
        (folder / "Modelfile").write_text(modelfile(f"{name}.q8_0.gguf", template, stop, num_ctx))

    settings = hashlib.sha256(json.dumps([template, list(stop), name]).encode()).hexdigest()[:8]
    return cached_folder(f"ollama-{name}-v1-{fingerprint(model)}-{settings}", build)


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
    return (
        "No `ollama` command on this machine. Install it from https://ollama.com/download "
        "(macOS, Windows, Linux), start it with `ollama serve`, then run this cell again: it will "
        "`ollama create` the model from the Modelfile and ask it one task prompt."
    )


def ollama_create_and_generate(folder: str | Path, model_name: str, prompt: str, timeout: float = 120) -> str:
    """``ollama create`` the model from ``folder/Modelfile``, then generate for ``prompt`` (local API)."""
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
        return json.loads(response.read())["response"]
