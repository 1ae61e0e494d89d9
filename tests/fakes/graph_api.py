"""A fake Meta Graph API (WhatsApp Cloud API subset) served over real loopback HTTP.

It checks bearer tokens against the phone numbers it knows, validates message
shapes the way Graph does (400 / code 100 on a bad shape) and answers with
Graph-style bodies, so adapter bugs surface as real HTTP errors.
"""
from __future__ import annotations

import base64
import email
import email.policy
import hashlib
import re
import secrets
from dataclasses import dataclass
from typing import Any

from .cloud_webhooks import build_webhook, merge_webhooks, message_payload, status_payload, user_preferences_payload  # noqa: F401
from .server import FakeServer, RecordedRequest, Reply

GRAPH_TITLES = {
    1: "API Unknown", 2: "API Service", 4: "Application request limit reached",
    100: "Invalid parameter", 190: "Access token has expired", 368: "Temporarily blocked for policies violations",
    80007: "Rate limit issues", 130429: "Rate limit hit", 131000: "Something went wrong",
    131026: "Message Undeliverable", 131031: "Business Account locked",
    131047: "Re-engagement message", 131048: "Spam rate limit hit",
    131050: "User has stopped marketing messages", 131051: "Unsupported message type",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
}
MESSAGE_TYPES = {"text", "template", "image", "document", "audio", "video", "sticker",
                 "location", "contacts", "interactive", "reaction"}
MEDIA_TYPES = {"image", "document", "audio", "video", "sticker"}
DOWNLOAD_PREFIX = "/media-download/"


def graph_error(code: int, message: str | None = None, details: str | None = None) -> dict[str, Any]:
    """A Graph API error body for `code`."""
    title = message or GRAPH_TITLES.get(code, "Unknown error")
    return {"error": {"message": f"(#{code}) {title}", "type": "OAuthException", "code": code,
                      "error_data": {"messaging_product": "whatsapp", "details": details or title},
                      "fbtrace_id": "A" + secrets.token_hex(8)}}


@dataclass
class PhoneNumber:
    """A business phone number the fake serves."""

    phone_number_id: str
    token: str
    waba_id: str
    display_phone_number: str = "+1 555-010-0000"
    verified_name: str = "Test Business"
    quality_rating: str = "GREEN"


class FakeGraphAPI(FakeServer):
    """The Graph endpoints CloudProvider uses: messages, phone info, templates, media."""

    def __init__(self, *, api_version: str = "v23.0", latency: float = 0.0):
        super().__init__(latency=latency)
        self.api_version = api_version
        self.numbers: dict[str, PhoneNumber] = {}
        self.templates: dict[str, list[dict[str, Any]]] = {}
        self.media: dict[str, dict[str, Any]] = {}
        self.sent: list[dict[str, Any]] = []          # accepted message bodies, with "id" added
        self.subscribed: set[str] = set()

    def add_phone_number(self, phone_number_id: str, token: str, *, waba_id: str, **info: Any) -> PhoneNumber:
        """Serve a phone number reachable with `token`."""
        number = PhoneNumber(str(phone_number_id), token, str(waba_id), **info)
        self.numbers[number.phone_number_id] = number
        self.templates.setdefault(number.waba_id, [])
        return number

    def add_template(self, waba_id: str, name: str, language: str = "en_US", *, status: str = "APPROVED",
                     category: str = "MARKETING", components: list[dict[str, Any]] | None = None) -> None:
        """Register a message template on a WABA."""
        self.templates.setdefault(str(waba_id), []).append({
            "name": name, "language": language, "status": status, "category": category,
            "components": components or [{"type": "BODY", "text": f"Hello from {name}"}],
            "id": str(secrets.randbelow(10**15))})

    def add_media(self, phone_number_id: str, data: bytes, mime_type: str) -> str:
        """Store media as if a customer had sent it; returns its media id."""
        media_id = str(10**15 + secrets.randbelow(10**15))
        self.media[media_id] = {"owner": str(phone_number_id), "data": data, "mime_type": mime_type}
        return media_id

    def error_body(self, status: int, error_code: int | None, extra: dict[str, Any]) -> Any:
        """Injected failures carry a proper Graph error body."""
        return graph_error(error_code if error_code is not None else status, extra.get("message"),
                           extra.get("details"))

    # -- routing -------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        """Dispatch by path after authenticating the bearer token."""
        token = _bearer(request)
        if request.path.startswith(DOWNLOAD_PREFIX):
            return self._download(request.path[len(DOWNLOAD_PREFIX):], token)
        if not any(n.token == token for n in self.numbers.values()):
            return 401, graph_error(190, "Invalid OAuth access token - Cannot parse access token"), {}
        parts = request.path.strip("/").split("/")
        if len(parts) < 2 or not re.fullmatch(r"v\d+\.\d+", parts[0]):
            return 400, graph_error(100, "Unknown path components"), {}
        node, edge = parts[1], (parts[2] if len(parts) > 2 else "")
        if node in self.numbers:
            if self.numbers[node].token != token:
                return 400, graph_error(100, f"Object with ID '{node}' does not exist or missing permissions"), {}
            return self._phone_route(request, self.numbers[node], edge)
        wabas = {n.waba_id: n for n in self.numbers.values()}
        if node in wabas and wabas[node].token == token:
            if edge == "subscribed_apps" and request.method == "POST":
                self.subscribed.add(node)
                return 200, {"success": True}, {}
            if edge == "message_templates" and request.method == "GET":
                return self._templates(request, node)
        if node in self.media and not edge and request.method == "GET":
            return self._media_info(node, token)
        return 400, graph_error(100, f"Unsupported {request.method.lower()} request"), {}

    def _phone_route(self, request: RecordedRequest, number: PhoneNumber, edge: str) -> Reply:
        if edge == "messages" and request.method == "POST":
            return self._send(request, number)
        if edge == "media" and request.method == "POST":
            return self._upload(request, number)
        if not edge and request.method == "GET":
            info = {"id": number.phone_number_id, "display_phone_number": number.display_phone_number,
                    "verified_name": number.verified_name, "quality_rating": number.quality_rating,
                    "code_verification_status": "VERIFIED", "name_status": "APPROVED",
                    "platform_type": "CLOUD_API", "throughput": {"level": "STANDARD"}}
            wanted = request.query.get("fields")
            if wanted:
                info = {k: v for k, v in info.items() if k == "id" or k in wanted.split(",")}
            return 200, info, {}
        return 400, graph_error(100, f"Unsupported {request.method.lower()} request"), {}

    def _send(self, request: RecordedRequest, number: PhoneNumber) -> Reply:
        problem = validate_message(request.json)
        if problem:
            return 400, graph_error(100, details=problem), {}
        body = request.json
        if body["type"] == "template":
            known = {(t["name"], t["language"]) for t in self.templates.get(number.waba_id, [])
                     if t["status"] == "APPROVED"}
            template = body["template"]
            if (template["name"], template["language"]["code"]) not in known:
                return 404, graph_error(132001, details=f"template name ({template['name']}) does not "
                                                        f"exist in {template['language']['code']}"), {}
        message_id = "wamid." + base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
        self.sent.append({**body, "id": message_id, "phone_number_id": number.phone_number_id})
        to = body["to"]
        return 200, {"messaging_product": "whatsapp",
                     "contacts": [{"input": to, "wa_id": re.sub(r"\D", "", to)}],
                     "messages": [{"id": message_id, "message_status": "accepted"}]}, {}

    def _templates(self, request: RecordedRequest, waba_id: str) -> Reply:
        items = self.templates.get(waba_id, [])
        limit = max(1, int(request.query.get("limit") or 25))
        start = int(base64.urlsafe_b64decode(request.query["after"]).decode()) if "after" in request.query else 0
        page = items[start:start + limit]
        cursors = {"before": _cursor(start), "after": _cursor(start + len(page))}
        paging: dict[str, Any] = {"cursors": cursors}
        if start + limit < len(items):
            query = f"limit={limit}&after={cursors['after']}"
            if request.query.get("fields"):
                query += f"&fields={request.query['fields']}"
            paging["next"] = f"{self.url}{request.path}?{query}"
        return 200, {"data": page, "paging": paging}, {}

    def _upload(self, request: RecordedRequest, number: PhoneNumber) -> Reply:
        fields, files = parse_multipart(request.headers.get("content-type", ""), request.body)
        if fields.get("messaging_product") != "whatsapp":
            return 400, graph_error(100, details="The parameter messaging_product is required."), {}
        if "file" not in files or not fields.get("type"):
            return 400, graph_error(100, details="The parameters file and type are required."), {}
        filename, data, _ = files["file"]
        media_id = self.add_media(number.phone_number_id, data, fields["type"])
        self.media[media_id]["filename"] = filename
        return 200, {"id": media_id}, {}

    def _media_info(self, media_id: str, token: str | None) -> Reply:
        item = self.media[media_id]
        if self.numbers[item["owner"]].token != token:
            return 400, graph_error(100, f"Object with ID '{media_id}' does not exist or missing permissions"), {}
        return 200, {"messaging_product": "whatsapp", "id": media_id, "mime_type": item["mime_type"],
                     "url": f"{self.url}{DOWNLOAD_PREFIX}{media_id}?ext=1",
                     "sha256": hashlib.sha256(item["data"]).hexdigest(),
                     "file_size": len(item["data"])}, {}

    def _download(self, media_id: str, token: str | None) -> Reply:
        item = self.media.get(media_id)
        if item is None:
            return 404, b"not found", {"Content-Type": "text/plain"}
        if self.numbers[item["owner"]].token != token:
            return 401, graph_error(190), {}
        return 200, item["data"], {"Content-Type": item["mime_type"]}


def validate_message(body: Any) -> str | None:
    """Why a /messages body is invalid (Graph's wording in spirit), or None if it is fine."""
    if not isinstance(body, dict):
        return "Request body must be a JSON object"
    if body.get("messaging_product") != "whatsapp":
        return "The parameter messaging_product is required."
    if not isinstance(body.get("to"), str) or not re.fullmatch(r"\+?\d{6,20}", body["to"]):
        return "The parameter to is required and must be a phone number."
    msg_type = body.get("type")
    if msg_type not in MESSAGE_TYPES:
        return f"Unsupported message type {msg_type!r}"
    content = body.get(msg_type)
    if not isinstance(content, dict):
        return f"The parameter {msg_type} is required."
    if msg_type == "text" and (not isinstance(content.get("body"), str) or not content["body"].strip()):
        return "The parameter text['body'] is required."
    if msg_type == "template":
        if not content.get("name") or not isinstance(content.get("language"), dict) \
                or not content["language"].get("code"):
            return "template['name'] and template['language']['code'] are required."
        if "components" in content and not isinstance(content["components"], list):
            return "template['components'] must be a list."
    if msg_type in MEDIA_TYPES:
        if bool(content.get("link")) == bool(content.get("id")):
            return f"Exactly one of {msg_type}['link'] or {msg_type}['id'] is required."
        if "caption" in content and msg_type in ("audio", "sticker"):
            return f"Param {msg_type}['caption'] is not valid."
        if "filename" in content and msg_type != "document":
            return f"Param {msg_type}['filename'] is not valid."
    return None


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, tuple[str, bytes, str]]]:
    """Split a multipart/form-data body into (fields, files={name: (filename, data, type)})."""
    message = email.message_from_bytes(b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body,
                                       policy=email.policy.HTTP)
    fields: dict[str, str] = {}
    files: dict[str, tuple[str, bytes, str]] = {}
    if not message.is_multipart():
        return fields, files
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        data = part.get_payload(decode=True) or b""
        if part.get_filename():
            files[name] = (part.get_filename(), data, part.get_content_type())
        else:
            fields[name] = data.decode()
    return fields, files


def _bearer(request: RecordedRequest) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:] if header.startswith("Bearer ") else None


def _cursor(index: int) -> str:
    return base64.urlsafe_b64encode(str(index).encode()).decode()
