"""Translate Graph API error responses into the typed provider errors of `whatsapp.base`.

Meta recommends deciding on `error.code` (not the title or the HTTP status), so the
code wins and the HTTP status is only the fallback for codes not listed here.
Code meanings: developers.facebook.com/documentation/business-messaging/whatsapp/support/error-codes
"""
from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx

from .base import ChannelError, MaybeSent, ProviderError, RecipientError, RetryableError

# Transient: throttling and Meta-side outages. Sending again later succeeds.
RETRYABLE_CODES: dict[int, str] = {
    1: "WhatsApp Cloud API had an unknown error - it will be retried",
    2: "WhatsApp Cloud API is temporarily unavailable - it will be retried",
    4: "WhatsApp API call limit reached for this app - it will be retried shortly",
    80007: "WhatsApp Business Account rate limit reached - it will be retried shortly",
    130429: "Sending too fast for WhatsApp - it will be retried shortly",
    131000: "WhatsApp had an internal problem sending this message - it will be retried",
    131016: "WhatsApp service is temporarily unavailable - it will be retried",
    131056: "Too many messages to this customer in a short time - it will be retried shortly",
    133004: "WhatsApp server is temporarily unavailable - it will be retried",
}

# The channel itself is unusable until someone fixes it in Settings or in Meta's tools.
CHANNEL_CODES: dict[int, str] = {
    0: "WhatsApp could not authenticate with this access token - update it in Settings",
    3: "The access token lacks a required permission - update it in Settings",
    10: "The access token lacks the WhatsApp messaging permission - update it in Settings",
    190: "Access token expired or invalid - update it in Settings",
    368: "Meta temporarily blocked this WhatsApp account for a policy violation - check Business Support Home",
    131031: "Meta locked this WhatsApp Business Account - check Business Support Home",
    131037: "The WhatsApp display name still needs Meta's approval",
    131042: ("Meta reports a billing problem on this WhatsApp Business Account - "
             "fix the payment method in Business Manager"),
    131045: "This phone number is not registered correctly with WhatsApp - register it again",
    131048: "Sending is restricted because many messages were reported as spam - check quality in WhatsApp Manager",
    131057: "This WhatsApp Business Account is in maintenance mode - try again later",
    133010: "This phone number is not registered with the WhatsApp Cloud API - register it first",
}

# Only this message or this recipient is affected; other sends can continue.
RECIPIENT_CODES: dict[int, str] = {
    100: "WhatsApp rejected the request because a field is invalid",
    131008: "A required field is missing from the message",
    131009: "A field in the message has an invalid value",
    131021: "A message cannot be sent to the business's own number",
    131026: "The message could not be delivered to this number (not on WhatsApp, or an outdated app)",
    131047: "More than 24 hours passed since the customer last wrote - send an approved template instead",
    131049: "Meta held back this marketing message to limit how many the customer receives - try later",
    131050: "This customer has stopped marketing messages from your business",
    131051: "WhatsApp does not support this message type",
    131052: "WhatsApp could not download the media sent by the customer",
    131053: "WhatsApp could not process the attached media - check its type and size",
    130472: "Meta is running an experiment on this customer's number; marketing messages are not delivered",
    130497: "Messages to customers in this country are not allowed for this business",
    132000: "The number of template variables does not match the template",
    132001: "This template does not exist in that language or is not approved yet",
    132005: "The template text is too long once the variables are filled in",
    132007: "The template content violates a WhatsApp policy",
    132012: "A template variable has the wrong format",
    132015: "This template is paused because of low quality",
    132016: "This template is disabled because of low quality",
}
TEMPLATE_CODE_RANGE = range(132000, 133000)
TEMPLATE_FALLBACK = "WhatsApp rejected the template"
PERMISSION_CODE_RANGE = range(200, 300)


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def scrub(text: str | None, secret: str | None) -> str | None:
    """Remove a secret from text that may be shown to tenants or logged."""
    if text is None or not secret:
        return text
    return text.replace(secret, "[redacted]")


def _graph_error(response: httpx.Response) -> dict[str, Any]:
    try:
        return graph_error_of(response.json())
    except ValueError:
        return {}


def _as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def error_from_response(response: httpx.Response, *, secret: str | None = None) -> ProviderError:
    """Build the typed error for a failed Graph API response."""
    return error_from_parts(response.status_code, _graph_error(response), response.headers.get("Retry-After"),
                            secret=secret)


def graph_error_of(body: Any) -> dict[str, Any]:
    """The `error` object of a parsed Graph API body ({} when there is none)."""
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def error_from_parts(status: int, error: dict[str, Any], retry_after_header: str | None, *,
                     secret: str | None = None) -> ProviderError:
    """Build the typed error from a failed answer's status, Graph `error` object and Retry-After header."""
    code = _as_int(error.get("code"))
    error_data = error.get("error_data") if isinstance(error.get("error_data"), dict) else {}
    details = scrub(error_data.get("details") or error.get("error_user_msg"), secret)
    graph_message = scrub(error.get("message"), secret)
    retry_after = parse_retry_after(retry_after_header)
    kwargs = {"code": code if code is not None else status, "http_status": status,
              "retry_after": retry_after, "details": details or graph_message}
    return classify(code, status, graph_message, kwargs)


def classify(code: int | None, status: int, graph_message: str | None,
             kwargs: dict[str, Any]) -> ProviderError:
    """Pick the error class and tenant-facing wording for a Graph code and HTTP status."""
    if code in RETRYABLE_CODES:
        return RetryableError(RETRYABLE_CODES[code], **kwargs)
    if code in CHANNEL_CODES:
        return ChannelError(CHANNEL_CODES[code], **kwargs)
    if code is not None and code in PERMISSION_CODE_RANGE:
        return ChannelError(CHANNEL_CODES[10], **kwargs)
    if code in RECIPIENT_CODES:
        return RecipientError(RECIPIENT_CODES[code], **kwargs)
    if code is not None and code in TEMPLATE_CODE_RANGE:
        return RecipientError(TEMPLATE_FALLBACK + _suffix(graph_message), **kwargs)
    # Codes Meta has not documented (or added later) fall back on the HTTP status.
    if status == 429:
        return RetryableError("WhatsApp rate limit reached - it will be retried shortly", **kwargs)
    if status >= 500:
        return RetryableError("WhatsApp Cloud API is temporarily unavailable - it will be retried",
                              **kwargs)
    if status in (401, 403):
        return ChannelError("WhatsApp refused the access token - update it in Settings", **kwargs)
    return RecipientError("WhatsApp rejected the message" + _suffix(graph_message), **kwargs)


def _suffix(graph_message: str | None) -> str:
    return f": {graph_message}" if graph_message else ""


# Failures before any byte of the request left: retrying these can never deliver a message twice.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


def error_from_transport(exc: httpx.TransportError, what: str, *, delivers: bool = False) -> ProviderError:
    """Turn a timeout or connection failure into a typed error naming `what` failed.

    For a request that `delivers` a message, a failure after the request may have left (no answer in
    time, a dropped connection) is MaybeSent: the provider may have it, so it is never sent again
    automatically. Anything else is retryable.
    """
    if delivers and not isinstance(exc, NOT_SENT):
        return MaybeSent(f"{what} did not answer ({type(exc).__name__}) after the message was sent, so it may "
                         "have been received", code="no_answer", details=_describe(exc))
    if isinstance(exc, httpx.TimeoutException):
        return RetryableError(f"{what} did not answer in time - it will be retried",
                              code="timeout", details=_describe(exc))
    return RetryableError(f"Could not reach {what} - it will be retried",
                          code="unreachable", details=_describe(exc))


def _describe(exc: Exception) -> str:
    # httpx messages name the failure (e.g. "[Errno 111] Connection refused") and never
    # include request headers, so they are safe to keep for support.
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
