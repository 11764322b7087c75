"""Story keys: the same story republished by several sites gets one key.

Wire copy is republished with a new headline, a different template and a credit line at the
end, but the opening of the body stays word for word. The key is a hash of the first words of
the body, normalised (case, punctuation, quotes), so verbatim republications share it and
everything else gets a key of its own.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

OPENING_WORDS = 60
MIN_PARAGRAPH_WORDS = 8
_WORD = re.compile(r"\w+")
# Datelines differ between copies ("GOTHENBURG (Nordic Wire) —" vs "GOTHENBURG, Sweden —").
_DATELINE = re.compile(r"^[^\n]{0,80}?\s[—–-]{1,2}\s")


def story_key(body: str, words: int = OPENING_WORDS) -> str:
    """Key of the story a body tells: 16 hex characters."""
    lines = unicodedata.normalize("NFKC", body).strip().splitlines()
    # Section kickers and bylines above the first paragraph vary between copies.
    while len(lines) > 1 and len(_WORD.findall(lines[0])) < MIN_PARAGRAPH_WORDS:
        lines.pop(0)
    text = _DATELINE.sub("", "\n".join(lines), count=1)
    tokens = _WORD.findall(text.casefold())[:words]
    return hashlib.sha1(" ".join(tokens).encode("utf-8")).hexdigest()[:16]
