"""Run queued background tasks inside a test's transaction."""

from django_tasks_db.models import DBTaskResult


def run_worker() -> None:
    """What `manage.py db_worker` does with each ready task, inside the test's transaction
    (the real worker closes database connections, which a test transaction cannot survive;
    test_the_real_worker_sends_queued_messages runs it for real)."""
    for result in DBTaskResult.objects.ready().order_by("enqueued_at"):
        result.claim("test-worker")
        args = result.args_kwargs
        result.set_successful(result.task.call(*args["args"], **args["kwargs"]))
