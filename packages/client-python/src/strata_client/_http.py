"""JSON over HTTP with the standard library: one request per call (urllib is thread-safe that
way), problem+json errors turned into StrataError, network failures into StrataUnavailable."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, cast


class StrataError(Exception):
    """The API refused a request; ``status`` and ``code`` come from its problem+json answer."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class StrataUnavailable(StrataError):
    """No answer (connection refused, timeout) or 502/503/504: the cache keeps answering."""


class SecretNotFound(StrataError, KeyError):
    """No readable secret of that name for the tenant (nor for its environment)."""


class Http:
    def __init__(self, url: str, token: str, timeout: float) -> None:
        self.base = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def url(self, path: str, query: dict[str, Any] | None = None) -> str:
        q = {k: v for k, v in (query or {}).items() if v is not None}
        return self.base + path + (f"?{urllib.parse.urlencode(q)}" if q else "")

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        return {
            "authorization": f"Bearer {self.token}",
            "accept": "application/json, application/problem+json",
            "user-agent": "strata-client-python/0.1",
            **(extra or {}),
        }

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        query: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        data = None if body is None else json.dumps(body).encode()
        h = self.headers(headers)
        if data is not None:
            h["content-type"] = "application/json"
        req = urllib.request.Request(self.url(path, query), data=data, headers=h, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as response:
                text = response.read().decode()
                return json.loads(text) if text else None
        except urllib.error.HTTPError as error:
            raise _problem(error) from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", error)
            raise StrataUnavailable(f"cannot reach {self.base}: {reason}") from None


def _problem(error: urllib.error.HTTPError) -> StrataError:
    problem: dict[str, Any] = {}
    try:
        parsed: Any = json.loads(error.read().decode() or "{}")
        if isinstance(parsed, dict):
            problem = cast(dict[str, Any], parsed)
    except (ValueError, OSError):
        pass
    detail = problem.get("detail") or problem.get("title") or error.reason
    message = f"{error.code} {problem.get('title', error.reason)}: {detail}"
    cls = StrataUnavailable if error.code in (502, 503, 504) else StrataError
    return cls(message, status=error.code, code=problem.get("code") or problem.get("errorCode"))
