"""The one table the shared plumbing needs: the throttles' request counters."""

from django.db import models


class RateCounter(models.Model):
    """Requests per caller and scope in the current window, shared by every worker.

    Written by one atomic upsert per request (core.http.throttling), so concurrent requests
    from many gunicorn workers and containers all count.
    """

    key = models.CharField(max_length=200, primary_key=True)
    window_start = models.DateTimeField()
    hits = models.PositiveIntegerField()

    class Meta:
        # The table it had in accounts, where it began: tasks of the previous release keep
        # counting in it during a rolling deploy.
        db_table = "accounts_ratecounter"

    def __str__(self) -> str:
        return self.key
