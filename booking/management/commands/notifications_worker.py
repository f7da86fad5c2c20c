"""Send queued notifications and run the waiting list: django-tasks' database worker, made to
outlive its database.

- A database restart or failover: django-tasks' worker exits on the first error; this one
  closes its connections, waits (1, 2, 4 ... 30 s) and carries on.
- A worker killed while sending leaves a row "sending": a sweeper thread in this process
  hands it back to the queue once it is ``STALE_SENDING`` old, and re-queues pending rows
  whose task was lost, every ``--sweep-seconds``. No other process is needed for that.
- The waiting list's matching and offer expiry run here too (queue ``waiting_list``); the
  sweeper also ends offers whose time ran out and matches freed slots whose task was lost.

    manage.py notifications_worker
"""

import logging
import os
import socket
import threading
import time
from typing import Any

from django import db
from django.core.management.base import BaseCommand, CommandParser
from django.db import connections
from django_tasks_db.management.commands.db_worker import Worker

from accounts import emails as account_emails
from booking.notifications import delivery
from booking.services import waiting_list

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30


class Command(BaseCommand):
    help = "Send queued notifications; survives database restarts; re-sends abandoned ones."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=1.0, help="idle poll, seconds")
        parser.add_argument("--sweep-seconds", type=float, default=30.0)

    def handle(self, *args: Any, interval: float, sweep_seconds: float, **options: Any) -> None:
        worker = Worker(
            queue_names=["notifications", "waiting_list"],
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=True,
            max_tasks=None,
            worker_id=f"{socket.gethostname()}-{os.getpid()}"[:64],
            excluded_queue_names=[],
        )
        worker.configure_signals()
        stop = threading.Event()
        sweeper = threading.Thread(target=sweep, args=(stop, sweep_seconds), daemon=True)
        sweeper.start()
        try:
            run_through_outages(worker)
        finally:
            stop.set()


def run_through_outages(worker: Worker) -> None:
    """Run ``worker`` until it is told to stop (SIGTERM, SIGINT), whatever the database does."""
    backoff, last_failure = 1.0, 0.0
    while worker.running:
        try:
            worker.run()
        except db.Error:  # DatabaseError and InterfaceError (a closed connection) alike
            # A new outage after a quiet minute starts the backoff afresh.
            if time.monotonic() - last_failure > 60:
                backoff = 1.0
            last_failure = time.monotonic()
            logger.warning(
                "notifications worker: database unavailable, retrying in %.0f s",
                backoff,
                exc_info=True,
            )
            # The task it was running (if any) ended with the error; a SIGTERM while we wait
            # must exit at once, not wait for it.
            worker.running_task = False
            connections.close_all()
            time.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
        else:
            return  # run() returns only once stopped


def sweep(stop: threading.Event, every: float) -> None:
    """Every ``every`` seconds, re-queue what no worker is sending any more."""
    while not stop.wait(every):
        try:
            # Both outboxes: appointment messages and account emails.
            requeued = delivery.requeue_due() + account_emails.requeue_due()
            if requeued:
                logger.info("notifications worker: re-queued %s messages", requeued)
            waiting = waiting_list.sweep()
            if any(waiting.values()):
                logger.info("notifications worker: waiting list %s", waiting)
        except db.Error:
            logger.warning("notifications worker: sweep skipped, database unavailable")
        except Exception:  # a sweeper that dies silently would leave abandoned sends unsent
            logger.exception("notifications worker: sweep failed")
        finally:
            connections.close_all()
