"""Load real pretrained weights, only from disk: a local folder or the Hugging Face cache.

Nothing here reaches the network (``local_files_only=True``). When the weights
are not there, the error says which repo to download and where it must go.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from course.models.configs import MODEL_NAMES, model_card


class WeightsNotFoundError(FileNotFoundError):
    """The weights asked for are neither in the given folder nor in the local Hugging Face cache."""


def _hub_cache() -> str:
    from huggingface_hub import constants

    return str(constants.HF_HUB_CACHE)


def load_pretrained(path_or_repo_id: str | Path, cls: Any = None, **kwargs: Any):
    """Load ``cls.from_pretrained`` from a folder, a course model name or a repo id in the local cache.

    ``cls`` defaults to the real class of a course model name. Extra keyword
    arguments (``dtype=...``) go to ``from_pretrained``.
    """
    target = str(path_or_repo_id)
    repo_id = target
    if target in MODEL_NAMES:
        card = model_card(target)
        repo_id = card.hf_repo
        if cls is None:
            import transformers

            cls = getattr(transformers, card.architecture)
    if cls is None:
        raise ValueError("Pass the model class (for example LlamaForCausalLM) for a path or a repo id.")

    local = Path(target).expanduser()
    looks_like_path = local.is_absolute() or target.startswith((".", "~")) or target.count("/") > 1
    if local.is_dir():
        if not (local / "config.json").is_file():
            raise WeightsNotFoundError(
                f"{local} has no config.json: point to the folder that holds config.json and the "
                "*.safetensors files of the model."
            )
        return cls.from_pretrained(str(local), local_files_only=True, **kwargs)
    if looks_like_path:
        raise WeightsNotFoundError(
            f"No folder at {local}. Save the model there (model.save_pretrained(folder)) or pass a repo id "
            "that is in your Hugging Face cache."
        )
    try:
        return cls.from_pretrained(repo_id, local_files_only=True, **kwargs)
    except OSError as error:
        raise WeightsNotFoundError(
            f"The weights of {repo_id} are not on this machine. On a computer with internet access run "
            f"`hf download {repo_id}` (it fills the cache at {_hub_cache()}; gated models such as Meta's "
            "Llama need `hf auth login` and the licence accepted on the model page first), or download them "
            "to a folder and pass that folder's path."
        ) from error


def is_cached(name_or_repo_id: str) -> bool:
    """Whether a course model (or repo id) has its ``config.json`` in the local Hugging Face cache."""
    from huggingface_hub import try_to_load_from_cache

    repo_id = model_card(name_or_repo_id).hf_repo if name_or_repo_id in MODEL_NAMES else name_or_repo_id
    return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
