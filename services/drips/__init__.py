"""Drip sequences: steps sent to enrolled contacts over time, each step to each enrolment at most once.

- timing: when a step is due (delays, days in the workspace's zone) and the send window's next opening;
- sequences: creating and editing sequences and their steps, re-planning enrolments after an edit;
- enrolment: enrol (by hand, by tag; workflows call `services.drips.enrol`), enrol a tag's contacts, stop, restart;
- exits: stopping enrolments when a contact replies, opts out or gets a tag;
- sending: the due sweep's batch, queued through the outbox;
- figures: counts and per-step figures for the pages.
"""
from services.drips.enrolment import enrol, enrol_selection, enrol_tagged, restart, stop

__all__ = ["enrol", "enrol_selection", "enrol_tagged", "restart", "stop"]
