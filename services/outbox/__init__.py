"""The outbox: every message any feature sends is queued here and delivered by its policy.

- rules: what every send obeys (a linked channel, a usable number, the 24-hour window, opt-outs);
- enqueue: turning a send into a queued row and a job after the commit;
- delivery: booking rate slots, claiming, calling the provider, deciding after an error;
- recording: writing the provider's id durably, and finishing sends a crash interrupted.
"""
from services.outbox.enqueue import queue_media, queue_template, queue_text, retry_message
from services.outbox.rules import (
                                   CAPTION_MAX,
                                   TEXT_MAX,
                                   SendRefused,
                                   bulk_reachable,
                                   ensure_can_send,
                                   window_closes_at,
                                   window_open,
)

__all__ = ["CAPTION_MAX", "TEXT_MAX", "SendRefused", "bulk_reachable", "ensure_can_send", "queue_media",
           "queue_template", "queue_text", "retry_message", "window_closes_at", "window_open"]
