"""Broadcasts: one message to many contacts, paced through the outbox, each contact at most once.

- content: placeholders and template variables, rendered per contact;
- audience: who is reached (all, tags, a segment; never the opted out), counts, the snapshot at start;
- lifecycle: save, schedule, start, pause, resume, cancel, retry failed, settle and complete;
- feeder: handing the next recipients to the outbox under the rules of the moment;
- progress: counters, rate and time left, the inbox's broadcast labels;
- recipients: the progress page's table, by state, paged on the recipient id.
"""
from services.broadcasts.audience import counts as audience_counts
from services.broadcasts.audience import sample_contact
from services.broadcasts.content import personalise, placeholder_problems, render_for
from services.broadcasts.lifecycle import (
    cancel,
    confirm,
    pause,
    resume,
    retry_failed,
    save_broadcast,
    start,
)
from services.broadcasts.progress import names_of_messages, progress, totals
from services.broadcasts.recipients import recipients

__all__ = ["audience_counts", "cancel", "confirm", "names_of_messages", "pause", "personalise",
           "placeholder_problems", "progress", "recipients", "render_for", "resume", "retry_failed",
           "sample_contact", "save_broadcast", "start", "totals"]
