"""Render chat messages with a model's own Jinja2 chat template.

The same rendering llama-cpp-python's ``Jinja2ChatFormatter`` does (a sandboxed
Jinja2 environment, ``raise_exception`` and ``strftime_now`` available), done here
so that building a prompt never needs ``llama_cpp``. A model without a template
gets ChatML, which Qwen and many others use.
"""
from __future__ import annotations

import json
from datetime import datetime
from functools import lru_cache
from typing import Any, Sequence

from batos.errors import BatosError

CHATML = ("{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
          "{{ message['content'] }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


@lru_cache(maxsize=8)
def _compile(template: str) -> Any:
    import jinja2
    import jinja2.ext
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    env = ImmutableSandboxedEnvironment(loader=jinja2.BaseLoader(), trim_blocks=True,
                                        lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = lambda x, indent=None, **kw: json.dumps(
        x, ensure_ascii=False, indent=indent)
    return env.from_string(template)


def _raise(message: str) -> None:
    raise BatosError(f"chat template error: {message}")


def render_chat(messages: Sequence[dict[str, str]], template: str | None = None, *,
                bos_token: str = "", eos_token: str = "",
                add_generation_prompt: bool = True) -> str:
    """Render ``messages`` (``[{"role", "content"}]``) with ``template`` (ChatML if None)."""
    for m in messages:
        if not isinstance(m, dict) or "role" not in m or "content" not in m:
            raise BatosError(f"a chat message needs 'role' and 'content': {m!r}")
    try:
        return _compile(template or CHATML).render(
            messages=list(messages), bos_token=bos_token, eos_token=eos_token,
            add_generation_prompt=add_generation_prompt, raise_exception=_raise,
            strftime_now=lambda f: datetime.now().strftime(f))
    except BatosError:
        raise
    except Exception as e:  # a broken template in a model file
        raise BatosError(f"the model's chat template failed: {e}") from None


def common_prefix(a: str, b: str) -> str:
    """Longest common prefix of two strings (to find the cacheable part of prompts)."""
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return a[:i]
