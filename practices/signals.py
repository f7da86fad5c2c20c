"""What the practices app tells apps above it, without importing them.

``slots_released`` is sent inside the transaction that makes slots bookable (cut from a
session, or released from a block), with ``slot_ids``; the booking app's waiting list
listens, so a freed or new slot is offered to waiting patients.
"""

from django.dispatch import Signal

slots_released = Signal()
