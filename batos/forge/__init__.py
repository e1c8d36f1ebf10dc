"""The Forge: persona LoRA adapters trained from the image's own verified work (issue 15).

``dataset`` curates the golden examples (verified generations, corrections, human
methods) in the exact prompt format the persona sees; ``train`` runs the torch
``worker`` in a niced subprocess; ``lora_gguf`` writes the PEFT LoRA as a llama.cpp
GGUF adapter; ``evaluate`` compares base and adapter with doesNotUnderstand_'s own
checks; ``incarnate`` stores the adapter in the image with its provenance.

torch, transformers and peft come with the optional extra (``pip install
'batos[forge]'``); everything but training and evaluation works without them.
"""
from __future__ import annotations

import importlib.util

INSTALL_HINT = ("the forge needs torch, transformers and peft: "
                "pip install 'batos[forge]' (CPU torch: add "
                "--extra-index-url https://download.pytorch.org/whl/cpu)")
REQUIRED = ("torch", "transformers", "peft")


def missing_modules() -> list[str]:
    """The forge's optional dependencies that are not importable here."""
    missing = []
    for name in REQUIRED:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


__all__ = ["INSTALL_HINT", "missing_modules"]
