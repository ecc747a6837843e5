"""Text of one external record: ``text_field`` parsing and the rendering of plain text, chats
and agent traces into a document's text and loss-mask segments.

``src.text_field`` (for ``.jsonl``, ``.parquet`` and ``hf``) is a comma-separated list of
``field`` or ``role:field`` parts, rendered by the type of each value:

- One string field (``text``): the document is that string, plain text.
- A field holding a list of messages (dicts with ``role``/``from`` and ``content``/``value``,
  OpenAI or ShareGPT style, optionally with ``tool_calls``) is a chat or agent trace.
- Several parts (``user:question,assistant:answer``) are messages in that order; a string part
  without a role is ``user`` if it is the first such part, else ``assistant``; a value that is not
  a string (a dict, a list of tools) is written as JSON.

A chat is rendered one message per line block, each opened by its role marker::

    <|system|> You are ...
    <|user|> What is ...
    <|assistant|> Let me call the tool.
    <|tool_call|> {"name": "search", "arguments": {"q": "..."}}
    <|tool|> {"results": ...}
    <|assistant|> The answer is 42.

Roles are normalised (``human`` -> ``user``, ``gpt``/``model`` -> ``assistant``,
``function``/``observation``/``ipython`` -> ``tool``, ``function_call`` -> ``tool_call``). For the
loss mask (``data.loss_mask``), system, user and tool messages are ``prompt`` segments, assistant
messages and tool calls are ``trace``, and the last assistant turn (every assistant message and
tool call after the last non-assistant message) is ``answer``.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any

from scaling.core.errors import UserError
from scaling.data.documents import Document

ROLES = ("system", "user", "assistant", "tool", "tool_call")
_ROLE_ALIASES = {
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "chatgpt": "assistant",
    "system": "system",
    "tool": "tool",
    "function": "tool",
    "observation": "tool",
    "ipython": "tool",
    "tool_response": "tool",
    "environment": "tool",
    "function_call": "tool_call",
    "tool_call": "tool_call",
}
_ASSISTANT_ROLES = {"assistant", "tool_call"}

__all__ = ["ROLES", "document", "parse_text_field", "render_messages", "render_record"]


def parse_text_field(spec: str, label: str) -> list[tuple[str | None, str]]:
    """``"user:question,assistant:answer"`` -> [("user", "question"), ("assistant", "answer")]."""
    parts: list[tuple[str | None, str]] = []
    for raw in spec.split(","):
        part = raw.strip()
        if not part:
            continue
        role, sep, name = part.partition(":")
        if not sep:
            parts.append((None, part))
            continue
        role, name = role.strip(), name.strip()
        if role not in ROLES or not name:
            raise UserError(
                f"{label}={spec!r}: part {part!r} must be field or role:field with role one of "
                f"{', '.join(ROLES)}"
            )
        parts.append((role, name))
    if not parts:
        raise UserError(f"{label}={spec!r}: name at least one field, e.g. text")
    return parts


def _content_text(content: Any) -> str:
    """Message content as text: a string, or the text parts of an OpenAI content list."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [
            c.get("text", "") if isinstance(c, dict) else str(c)
            for c in content
            if not isinstance(c, dict) or c.get("type", "text") == "text"
        ]
        return "\n".join(t for t in texts if t)
    return json.dumps(content, ensure_ascii=False)


def _tool_call_text(call: Any) -> str:
    """One tool call as JSON ``{"name": ..., "arguments": ...}`` (OpenAI ``tool_calls`` entries,
    legacy ``function_call`` dicts, or anything else as given)."""
    if not isinstance(call, dict):
        return call if isinstance(call, str) else json.dumps(call, ensure_ascii=False)
    fn = call.get("function", call)
    if not isinstance(fn, dict) or "name" not in fn:
        return json.dumps(call, ensure_ascii=False)
    args = fn.get("arguments", fn.get("parameters"))
    if isinstance(args, str):
        with contextlib.suppress(ValueError):
            args = json.loads(args)
    return json.dumps({"name": fn["name"], "arguments": args}, ensure_ascii=False)


def _normal_role(raw: Any) -> str:
    name = str(raw or "user").strip().lower()
    if name in _ROLE_ALIASES:
        return _ROLE_ALIASES[name]
    return re.sub(r"[^a-z0-9_]+", "_", name).strip("_") or "user"


def _is_message(value: Any) -> bool:
    return isinstance(value, dict) and ("role" in value or "from" in value)


def _is_message_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(_is_message(m) for m in value)


def _messages_from(value: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(role, text) entries of a message list; tool calls become ``tool_call`` entries."""
    out: list[tuple[str, str]] = []
    for m in value:
        role = _normal_role(m.get("role", m.get("from")))
        content = m.get("content", m.get("value", m.get("text")))
        text = _content_text(content)
        if text:
            out.append((role, text))
        calls = m.get("tool_calls") or []
        if m.get("function_call"):
            calls = [*calls, m["function_call"]]
        for call in calls:
            out.append(("tool_call", _tool_call_text(call)))
    return out


def render_messages(messages: list[tuple[str, str]]) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Text and (text, segment role) pairs of a chat: ``<|role|> text`` blocks, one per message.

    Segment roles: system/user/tool -> ``prompt``; assistant/tool_call -> ``trace``, except the
    last assistant turn (after the last non-assistant message) -> ``answer``.
    """
    last_prompt = max(
        (i for i, (r, _) in enumerate(messages) if r not in _ASSISTANT_ROLES), default=-1
    )
    segments = []
    for i, (role, text) in enumerate(messages):
        if role in _ASSISTANT_ROLES:
            seg_role = "answer" if i > last_prompt else "trace"
        else:
            seg_role = "prompt"
        segments.append((f"<|{role}|> {text}\n", seg_role))
    return "".join(t for t, _ in segments), tuple(segments)


def _part_messages(role: str, value: Any) -> list[tuple[str, str]]:
    """The messages of one ``role:field`` part whose value is not a message list."""
    if isinstance(value, list) and role == "tool_call":
        return [("tool_call", _tool_call_text(c)) for c in value]
    if role == "tool_call" and isinstance(value, str):
        try:  # xLAM-style: a JSON string holding a list of calls
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if isinstance(decoded, list):
            return [("tool_call", _tool_call_text(c)) for c in decoded]
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return [(role, text)] if text else []


def render_record(
    record: dict[str, Any], parts: list[tuple[str | None, str]], *, where: str
) -> tuple[str, tuple[tuple[str, str], ...] | None]:
    """(text, segments) of one record; segments is None for plain text. Missing fields raise
    UserError naming the fields the record has."""
    for _, name in parts:
        if name not in record:
            have = ", ".join(sorted(map(str, record))) or "none"
            raise UserError(
                f"{where}: has no field {name!r} (fields: {have}); set text_field to one of them"
            )
    if len(parts) == 1 and parts[0][0] is None:
        value = record[parts[0][1]]
        if value is None:
            return "", None
        if isinstance(value, str):
            return value, None
    messages: list[tuple[str, str]] = []
    defaulted = 0
    for role, name in parts:
        value = record[name]
        if value is None:
            continue
        if _is_message_list(value):
            messages.extend(_messages_from(value))
            continue
        if role is None:
            role = "user" if defaulted == 0 else "assistant"
            defaulted += 1
        messages.extend(_part_messages(role, value))
    if not messages:
        return "", None
    return render_messages(messages)


def document(doc_id: str, record: dict[str, Any], parts: list[Any], where: str) -> Document | None:
    """The document of one record, or None when its text is blank."""
    text, segments = render_record(record, parts, where=where)
    if not text.strip():
        return None
    return Document(doc_id=doc_id, text=text, segments=segments)
