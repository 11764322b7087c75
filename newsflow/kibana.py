"""Kibana saved objects for the articles alias: load them from ``mappings/kibana/``, import them.

The objects (a data view on the alias, a saved search, Lens charts and a dashboard) are data,
kept as NDJSON in the form Kibana's own export writes. Importing is one multipart POST to
``/api/saved_objects/_import``; with ``overwrite`` a re-import updates the same ids.
"""

from __future__ import annotations

import json
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

from newsflow.resources import KIBANA_DIR

SAVED_OBJECTS_DIR = KIBANA_DIR
IMPORT_PATH = "/api/saved_objects/_import"
IMPORT_FILENAME = "newsflow.ndjson"
# Error items listed in an exception message; the rest are counted.
_MAX_LISTED_ERRORS = 5


class KibanaImportError(RuntimeError):
    """Kibana refused the import or could not be reached.

    ``status_code`` is Kibana's HTTP status (None when there was no answer) and ``errors`` the
    per-object errors of a partly failed import. The message never holds credentials.
    """

    def __init__(
        self, message: str, status_code: int | None = None, errors: list[dict] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.errors = errors or []


def load_saved_objects(directory: Path | str = SAVED_OBJECTS_DIR) -> list[dict[str, Any]]:
    """All saved objects in the ``*.ndjson`` files of ``directory``, files in name order.

    Raises ValueError naming the file and line of a line that is not a JSON object with
    ``type`` and ``id``; blank lines are skipped.
    """
    objects: list[dict[str, Any]] = []
    for path in sorted(Path(directory).glob("*.ndjson")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path.name}:{number}: not JSON: {exc}") from exc
            if not isinstance(obj, dict) or not obj.get("type") or not obj.get("id"):
                raise ValueError(f"{path.name}:{number}: not a saved object with type and id")
            objects.append(obj)
    return objects


def to_ndjson(objects: list[dict[str, Any]]) -> bytes:
    """The objects as one NDJSON document, the form the import API takes."""
    return "".join(
        json.dumps(o, ensure_ascii=False, separators=(",", ":")) + "\n" for o in objects
    ).encode("utf-8")


def for_index(objects: list[dict[str, Any]], alias: str) -> list[dict[str, Any]]:
    """Copies of the objects whose data views point at ``alias`` instead of ``articles``.

    Everything else refers to the data view by id, so renaming its title is enough.
    """
    result = []
    for obj in objects:
        if obj["type"] == "index-pattern":
            obj = {**obj, "attributes": {**obj["attributes"], "title": alias}}
        result.append(obj)
    return result


def import_saved_objects(
    kibana_url: str,
    ndjson_bytes: bytes,
    *,
    api_key: str | None = None,
    username: str | None = None,
    password: str | None = None,
    ca_certs: Path | str | None = None,
    overwrite: bool = True,
    timeout: float = 30,
) -> int:
    """POST the NDJSON to Kibana's import API; return how many objects Kibana imported.

    Authenticates with ``api_key`` if given, else with ``username``/``password`` if given.
    ``kibana_url`` may carry a base path or a space (``https://host/s/news``). Raises
    KibanaImportError with Kibana's error summary when the request fails or any object is
    refused; the message names the URL without credentials and never the password or key.
    """
    base = kibana_url.rstrip("/")
    shown_url = _without_userinfo(base)
    headers = {"kbn-xsrf": "true"}  # Kibana refuses API writes without it (CSRF guard)
    auth: tuple[str, str] | None = None
    if api_key:
        headers["Authorization"] = f"ApiKey {api_key}"
    elif username is not None and password is not None:
        auth = (username, password)
    verify: ssl.SSLContext | bool = True
    if ca_certs:
        verify = ssl.create_default_context(cafile=str(ca_certs))
    secrets = [s for s in (password, api_key, urlsplit(base).password) if s]

    try:
        with httpx.Client(auth=auth, verify=verify, timeout=timeout) as client:
            response = client.post(
                base + IMPORT_PATH,
                params={"overwrite": "true"} if overwrite else None,
                headers=headers,
                files={"file": (IMPORT_FILENAME, ndjson_bytes, "application/ndjson")},
            )
    except httpx.HTTPError as exc:
        raise KibanaImportError(
            _redact(f"cannot reach Kibana at {shown_url}: {type(exc).__name__}: {exc}", secrets)
        ) from exc

    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code >= 400 or not isinstance(body, dict):
        reason = body.get("message") if isinstance(body, dict) else None
        reason = reason or response.text[:300].strip() or response.reason_phrase
        raise KibanaImportError(
            _redact(
                f"Kibana at {shown_url} answered HTTP {response.status_code} "
                f"{response.reason_phrase}: {reason}",
                secrets,
            ),
            status_code=response.status_code,
        )
    if not body.get("success", False):
        errors = body.get("errors") or []
        raise KibanaImportError(
            _redact(_summarise(body.get("successCount", 0), errors, shown_url), secrets),
            status_code=response.status_code,
            errors=errors,
        )
    return int(body.get("successCount", 0))


def _summarise(imported: int, errors: list[dict], shown_url: str) -> str:
    lines = [f"Kibana at {shown_url} imported {imported} objects; {len(errors)} failed:"]
    for item in errors[:_MAX_LISTED_ERRORS]:
        error = item.get("error") or {}
        detail = error.get("type", "unknown")
        missing = error.get("references") or []
        if missing:
            detail += " " + ", ".join(f"{r.get('type')}/{r.get('id')}" for r in missing)
        if error.get("message"):
            detail += f" ({error['message']})"
        lines.append(f"  {item.get('type')}/{item.get('id')}: {detail}")
    if len(errors) > _MAX_LISTED_ERRORS:
        lines.append(f"  ... and {len(errors) - _MAX_LISTED_ERRORS} more")
    return "\n".join(lines)


def _without_userinfo(url: str) -> str:
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def _redact(text: str, secrets: list[str]) -> str:
    # Kibana's messages should not echo a secret, but a proxy's error page might.
    for secret in secrets:
        text = text.replace(secret, "********")
    return text
