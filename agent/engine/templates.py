"""Reply templates from ``prompts/replies.yaml`` (text for people lives in prompts/)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml


class Templates:
    def __init__(self, path: Path) -> None:
        self._data: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))

    def get(self, key: str) -> str:
        node: Any = self._data
        for part in key.split("."):
            node = node[part]
        if not isinstance(node, str):
            raise KeyError(f"template {key!r} is not text")
        return " ".join(node.split())

    def has(self, key: str) -> bool:
        try:
            self.get(key)
        except KeyError:
            return False
        return True

    def render(self, key: str, **values: Any) -> str:
        return self.get(key).format(**values)


@lru_cache(maxsize=4)
def load_templates(prompts_dir: str) -> Templates:
    return Templates(Path(prompts_dir) / "replies.yaml")
