"""`python -m jobs.cron_runner [--url URL] [CONFIG]`: RQ's cron scheduler, kept alive through Redis outages.

`rq cron` (RQ 2.12) exits on the first Redis error its loop meets, and its CLI offers no way to
use another scheduler class, hence this entry point. CONFIG defaults to `jobs.cron`.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from redis import Redis
from rq.cron import CronScheduler
from rq.exceptions import StopRequested

from jobs.worker import REDIS_DOWN, RedisOutage


class AppCronScheduler(CronScheduler):
    """RQ's CronScheduler whose loop waits for Redis instead of ending when it is unreachable."""

    def start(self):
        self.log.info("CronScheduler %s: starting...", self.name)
        self._install_signal_handlers()
        outage = RedisOutage(self.log, f"CronScheduler {self.name}")
        registered = False
        try:
            while True:
                try:
                    if not registered:
                        self.register_birth()
                        registered = True
                    # A job that could not be enqueued keeps its due time and goes out on the next pass.
                    if self.enqueue_jobs():
                        self.save()
                    self.heartbeat()  # re-registers the scheduler if a restarted Redis lost it
                except REDIS_DOWN as error:
                    outage.wait(error)
                    continue
                outage.over()
                sleep_time = self.calculate_sleep_interval()
                if sleep_time > 0:
                    time.sleep(sleep_time)
        except (KeyboardInterrupt, StopRequested):
            self.log.info("CronScheduler %s: stop requested", self.name)
        finally:
            try:
                self.register_death()
            except REDIS_DOWN as error:
                self.log.warning("CronScheduler %s: could not record its exit, Redis unreachable (%s)",
                                 self.name, error)
            self.log.info("CronScheduler %s: shutdown complete", self.name)


def main(argv: list[str] | None = None) -> int:
    """Load the cron schedule and run it until SIGINT/SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m jobs.cron_runner",
                                     description="RQ cron scheduler that waits out Redis outages.")
    parser.add_argument("config", nargs="?", default="jobs.cron", help="module or file that registers cron jobs")
    parser.add_argument("--url", "-u", default=os.environ.get("REDIS_URL") or "redis://localhost:6379/0")
    parser.add_argument("--logging-level", "-l", default="INFO",
                        choices=["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"])
    args = parser.parse_args(argv)
    scheduler = AppCronScheduler(connection=Redis.from_url(args.url), logging_level=args.logging_level)
    scheduler.load_config_from_file(args.config)
    scheduler.start()
    return 0


if __name__ == "__main__":
    sys.exit(main())
